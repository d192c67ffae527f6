"""The [people] config section: the people stage that runs after the motion detector."""

from __future__ import annotations

from dataclasses import dataclass

from config.fields import setting

DETECTORS = ("opencv", "yolox")


@dataclass(frozen=True)
class PeopleConfig:
    """Look for a person in the frames and regions where motion is, at a bounded rate."""

    enabled: bool = setting(
        True, "Label events and clips `person` when a person is seen in the moving regions.")
    detector: str = setting(
        "opencv", "opencv: OpenCV's HOG people detector and face/upper-body cascades "
        "(installed with OpenCV, nothing to fetch); yolox: a YOLOX-Nano COCO detector "
        "(stronger), fetched once with `doorcam people install-model`.", choices=DETECTORS)
    model: str = setting(
        "", "The ONNX model file of the yolox detector; empty: models/yolox_nano.onnx in "
        "store.path, where `doorcam people install-model` puts it.")
    checks_per_second: float = setting(
        3.0, "At most this many people checks per second while an event has motion "
        "(each takes tens of milliseconds on a Pi 4).", min=0.2, max=30.0)
    min_hits: int = setting(
        2, "Checks in a row that must find a person in the same place before an event is "
        "labelled `person`; after a check finds someone the next motion frame is checked "
        "at once to confirm. 1 labels on one sighting (sooner, but a car's grille or a "
        "pattern of leaves can pass for a person once).", min=1, max=10)
    min_score: float = setting(
        0.5, "The yolox detector's lowest person confidence (0..1).", min=0.05, max=0.99)
