"""People detectors for the stage after the motion detector; `make_people_detector` picks one."""

from __future__ import annotations

from pathlib import Path

from config.people import PeopleConfig
from motion.people.base import PeopleDetector, PeopleError, Person


def make_people_detector(cfg: PeopleConfig, model: Path) -> PeopleDetector:
    """`opencv`: HOG (whole people, far) + upper-body and face cascades (close, cut off at
    the knees); `yolox`: the ONNX model at `model`. PeopleError says what is missing."""
    if cfg.detector == "yolox":
        from motion.people.yolox import YoloxDetector

        return YoloxDetector(model, cfg.min_score)
    from motion.people.cascade import CascadeDetector
    from motion.people.combined import AnyOf
    from motion.people.hog import HogDetector

    return AnyOf([HogDetector(), CascadeDetector("upperbody"), CascadeDetector("face")])


__all__ = ["PeopleDetector", "PeopleError", "Person", "make_people_detector"]
