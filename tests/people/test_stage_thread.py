"""The people stage on its own thread: a detector that stalls never holds up the motion loop;
checks beyond the queue are dropped and counted; late answers still label event and clip."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from capture.sources import open_source
from config import CaptureConfig, Config, StoreConfig
from config.people import PeopleConfig
from device.daemon.people import PeopleThread
from device.store import ClipStore
from device.wiring import build
from device.wiring.people import PeopleCheck, PeopleStage
from device.wiring.pipeline import LocalLoop, MotionEventRecord
from motion.people import Person, make_people_detector
from tests.people.footage import WAVINGTREES_PERSON


class Stalling:
    """The real OpenCV detector behind a gate the test opens (a detector that hangs)."""

    name = "stalling"

    def __init__(self) -> None:
        self.inner = make_people_detector(PeopleConfig(), Path("unused"))
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.seen: list[int] = []

    def detect(self, image: np.ndarray) -> list[Person]:
        self.entered.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return self.inner.detect(image)


class Events:
    def __init__(self) -> None:
        self.ended: list[MotionEventRecord] = []
        self.people: list[int] = []

    def event_started(self, ev: MotionEventRecord) -> None:
        pass

    def event_ended(self, ev: MotionEventRecord) -> None:
        self.ended.append(ev)

    def person_seen(self, ev: MotionEventRecord) -> None:
        self.people.append(ev.id)

    def clip_stored(self, clip: Any) -> None:
        pass


def test_a_stalled_detector_costs_checks_not_frames(test_data: Path, tmp_path: Path) -> None:
    # One sighting labels (min_hits 1): the checks answered late are of frames the person
    # has left, so none could confirm a sighting.
    cfg = Config(store=StoreConfig(path=str(tmp_path / "store")),
                 people=PeopleConfig(checks_per_second=10.0, min_hits=1))
    detector = Stalling()
    people = PeopleThread(detector)
    people.start()
    store = ClipStore(cfg.store)
    src = open_source(str(test_data / "wavingtrees" / "input"), CaptureConfig(), pace=None)
    events = Events()
    try:
        loop = None
        for f in src.frames():
            if loop is None:
                h, w = f.lores.shape
                loop = LocalLoop(build.make_detector(cfg, h, w),
                                 build.make_recorder(cfg, src.info, store, simulated=True),
                                 events, people=PeopleStage(cfg.people, people), labels=store)
            loop.feed(f)
        assert loop is not None
        # Every frame went through while the first check has been stuck in the detector.
        assert loop.frames == 287 and detector.entered.is_set() and people.answered == 0
        assert people.checks.dropped > 0, "more checks than the queue holds were offered"
        assert events.people == []  # nothing answered yet
        detector.gate.set()
        loop.close()
    finally:
        detector.gate.set()
        people.stop()
        src.close()
    # The checks that were kept are answered at the end of input: the event and its clip
    # are labelled all the same, with the frames and boxes.
    assert events.people == [1]
    ev = events.ended[0]
    assert ev.person and ev.person_frame >= WAVINGTREES_PERSON
    clips = store.list(label="person")
    assert len(clips) == 1 and clips[0].labels == ("motion", "person")
    detail = store.labels(clips[0].id)["person"]
    assert detail["frames"] and all(f >= WAVINGTREES_PERSON for f in detail["frames"])
    assert len(detail["boxes"][0][0]) == 4
    store.close()


def test_submit_never_waits_and_counts_what_it_drops() -> None:
    detector = Stalling()
    people = PeopleThread(detector)
    people.start()
    try:
        image = np.zeros((64, 64, 3), np.uint8)
        for seq in range(10):
            people.submit(PeopleCheck(1, seq, seq / 25, image, (0.0, 0.0, 1.0, 1.0)))
            if seq == 0:
                assert detector.entered.wait(30)  # the thread holds check 0
        # 0 in the detector, 8 and 9 queued, 1..7 dropped (the oldest go first).
        assert people.dropped == 7 and people.results() == []
        detector.gate.set()
        people.finish()
        answers = people.results()
        assert [a.seq for a in answers] == [0, 8, 9]
    finally:
        detector.gate.set()
        people.stop()


def test_a_failing_detector_stops_the_stage_not_the_caller() -> None:
    class Broken:
        name = "broken"

        def detect(self, image: np.ndarray) -> list[Person]:
            raise RuntimeError("boom")

    people = PeopleThread(Broken())
    people.start()
    image = np.zeros((8, 8, 3), np.uint8)
    for seq in range(5):  # a dead stage makes neither submit nor finish hang
        people.submit(PeopleCheck(1, seq, 0.0, image, (0.0, 0.0, 1.0, 1.0)))
    people.finish()
    people.stop()
    assert people.worker.error == "RuntimeError: boom" and not people.worker.critical


def test_the_daemon_records_on_without_a_model_and_says_why(tmp_path: Path) -> None:
    from device.daemon.capture import CaptureSide

    cfg = Config(capture=CaptureConfig(source="synthetic:porch?seconds=2"),
                 store=StoreConfig(path=str(tmp_path / "store")),
                 people=PeopleConfig(detector="yolox"))
    side = CaptureSide(cfg, None)
    side._start_people()
    assert side.people is None and "doorcam people install-model" in side.people_problem
    assert {w.name for w in side.workers()} <= {"camera", "motion", "live"}
    assert "people detection off" in side.status()
    assert "people_checks" not in side.stats()
