"""How the local loop turns people answers into labels: late answers, clips already stored,
clips that do not hold the frames a person was seen in, and confirmation in one place."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from config.people import PeopleConfig
from device.wiring.people import PeopleCheck, PeopleFound, PeopleStage, confirmed, overlaps
from device.wiring.pipeline import LocalLoop, MotionEventRecord
from motion.people.base import PeopleError
from motion.people.cascade import FILES, find_cascade
from tests.people.footage import frame

FACE = (0.5, 0.2, 0.2, 0.2)


@dataclass
class Result:
    motion: bool
    event_active: bool
    score: float
    boxes: tuple[tuple[float, float, float, float], ...]
    transition: Any = None


@dataclass
class Transition:
    kind: str
    event_id: int


class Script:
    """A motion detector that plays a list of results (the loop's logic is under test)."""

    def __init__(self, results: list[Result]) -> None:
        self.results = iter(results)

    def process(self, lores: Any, t: float, exposure_changed: bool = False) -> Result:
        return next(self.results)


@dataclass
class Meta:
    first_seq: int
    last_seq: int


@dataclass
class Clip:
    id: str
    meta: Meta


class Recorder:
    """Stores clip A (frames 0-4) at frame 5 and clip B (5-9) at close; both in the event."""

    def __init__(self) -> None:
        self.seq = -1

    @property
    def current_clip_id(self) -> str | None:
        return "A" if self.seq < 5 else "B"

    def push(self, f: Any, motion: bool, score: float) -> list[Clip]:
        self.seq = f.seq
        return [Clip("A", Meta(0, 4))] if f.seq == 5 else []

    def force(self, trigger: str, seconds: float) -> None:
        pass

    def close(self) -> list[Clip]:
        return [Clip("B", Meta(5, 9))]


class Later:
    """A runner whose answers the test hands out when it wants (a slow people thread)."""

    def __init__(self) -> None:
        self.submitted: list[PeopleCheck] = []
        self.ready: list[PeopleFound] = []

    def submit(self, check: PeopleCheck) -> None:
        self.submitted.append(check)

    def results(self) -> list[PeopleFound]:
        out, self.ready = self.ready, []
        return out

    def finish(self) -> None:
        pass


class Labels:
    def __init__(self) -> None:
        self.added: list[tuple[str, str, Any]] = []

    def add_label(self, clip_id: str, label: str, detail: Any = None) -> None:
        self.added.append((clip_id, label, detail))


class Listener:
    def __init__(self) -> None:
        self.seen: list[int] = []
        self.ended: list[MotionEventRecord] = []

    def event_started(self, ev: MotionEventRecord) -> None:
        pass

    def event_ended(self, ev: MotionEventRecord) -> None:
        self.ended.append(ev)

    def person_seen(self, ev: MotionEventRecord) -> None:
        self.seen.append(ev.id)

    def clip_stored(self, clip: Any) -> None:
        pass


def run(answers: dict[int, list[PeopleFound]], min_hits: int = 1
        ) -> tuple[Listener, Labels, Later]:
    box = (0.4, 0.1, 0.4, 0.8)
    results = [Result(True, True, 0.2, (box,), Transition("start", 1) if i == 0 else None)
               for i in range(8)]
    results += [Result(False, False, 0.0, (), Transition("end", 1) if i == 8 else None)
                for i in range(8, 12)]
    runner, labels, listener = Later(), Labels(), Listener()
    stage = PeopleStage(PeopleConfig(checks_per_second=25.0, min_hits=min_hits), runner)
    loop = LocalLoop(Script(results), Recorder(), listener, people=stage, labels=labels)
    gray = np.zeros((24, 32), np.uint8)
    for seq in range(12):
        runner.ready.extend(answers.get(seq, []))
        loop.feed(frame(seq, gray))
    loop.close()
    return listener, labels, runner


def found(seq: int, *boxes: tuple[float, float, float, float]) -> PeopleFound:
    return PeopleFound(1, seq, seq / 25, tuple(boxes), 0.01)


def test_an_answer_after_the_event_ended_labels_it_and_its_stored_clips() -> None:
    # Frame 6 showed someone; the answer comes at frame 10, after the event ended (frame 8).
    listener, labels, runner = run({10: [found(6, FACE)]})
    assert [c.seq for c in runner.submitted] == list(range(8))  # motion frames of the event
    assert listener.seen == [1] and listener.ended[0].person
    assert listener.ended[0].person_frame == 6
    # Clip A (frames 0-4) does not hold frame 6: only B is labelled, at its close.
    assert labels.added == [("B", "person", {"frames": [6], "boxes": [[list(FACE)]]})]


def test_a_clip_stored_before_the_answer_is_labelled_when_it_comes() -> None:
    listener, labels, _ = run({7: [found(2, FACE)]})
    assert listener.seen == [1]
    assert labels.added == [("A", "person", {"frames": [2], "boxes": [[list(FACE)]]})]


def test_an_empty_answer_labels_nothing() -> None:
    listener, labels, _ = run({3: [found(1)], 6: [found(4)]})
    assert listener.seen == [] and labels.added == []
    assert listener.ended[0].labels == ["motion"] and listener.ended[0].checks == 2


def test_a_sighting_must_be_confirmed_in_the_same_place() -> None:
    elsewhere = (0.0, 0.7, 0.1, 0.1)
    listener, _, _ = run({2: [found(1, FACE)], 4: [found(3, elsewhere)]}, min_hits=2)
    assert listener.seen == []
    listener, labels, _ = run({2: [found(1, FACE)], 4: [found(3, (0.52, 0.22, 0.2, 0.2))]},
                              min_hits=2)
    assert listener.seen == [1] and listener.ended[0].person_frame == 3
    assert labels.added[0][2]["frames"] == [1, 3]


def test_a_sighting_makes_the_next_motion_frame_due_at_once() -> None:
    runner = Later()
    stage = PeopleStage(PeopleConfig(checks_per_second=1.0), runner)
    assert stage.due(1, 0.0)
    stage._last = (1, 0.0)
    assert not stage.due(1, 0.04)
    stage.confirm(1)
    assert stage.due(1, 0.04)


def test_overlap_and_confirmation_rules() -> None:
    assert overlaps(FACE, (0.55, 0.25, 0.2, 0.2))
    assert not overlaps(FACE, (0.0, 0.0, 0.1, 0.1))
    assert confirmed([[FACE]], 1) and not confirmed([[FACE]], 2)
    assert confirmed([[(0.0, 0.0, 0.1, 0.1)], [FACE], [FACE]], 2)


def test_cascades_are_found_where_debian_keeps_them(tmp_path: Path) -> None:
    debian = tmp_path / "usr" / "share" / "opencv4" / "haarcascades"
    debian.mkdir(parents=True)
    shutil.copy(find_cascade("face"), debian / FILES["face"])
    assert find_cascade("face", [tmp_path / "none", debian]) == debian / FILES["face"]
    with pytest.raises(PeopleError, match="opencv-data"):
        find_cascade("upperbody", [tmp_path / "none", debian])
