"""A non-critical worker that fails runs again after a back-off (5 s, doubling, capped, back
to 5 s after a settled run), on a new thread, its resources closed and opened again; a
critical one stops the daemon. Time is an injected clock: nothing here sleeps."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from config import Config
from device.daemon.notify import Notifier
from device.daemon.supervisor import Supervisor
from device.daemon.workers import Backoff, Worker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Flaky:
    """A step that fails on its first `fails` runs (on their first step), then works; each
    run opens a resource (`on_start`) that `on_stop` must close."""

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.runs = 0
        self.open = 0  # resources open now
        self.threads: list[threading.Thread] = []
        self.working = threading.Event()

    def on_start(self) -> None:
        self.runs += 1
        self.open += 1
        self.threads.append(threading.current_thread())

    def on_stop(self) -> None:
        self.open -= 1

    def step(self, stop: threading.Event) -> None:
        if self.runs <= self.fails:
            raise RuntimeError(f"boom {self.runs}")
        self.working.set()
        stop.wait(0.05)

    def worker(self, clock: Clock, **kw: Any) -> Worker:
        return Worker("flaky", self.step, on_start=self.on_start, on_stop=self.on_stop,
                      critical=False, clock=clock, **kw)


def test_a_step_that_fails_twice_is_restarted_after_5_then_10_s_and_then_works(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "doorcam")
    clock, flaky = Clock(), Flaky(fails=2)
    w = flaky.worker(clock)
    w.start()
    assert w.join(10)
    assert (w.error, flaky.open) == ("RuntimeError: boom 1", 0)
    assert w.trouble() == "restarting in 5 s after RuntimeError: boom 1"
    clock.now += 4.9
    assert not w.restart_if_due() and not w.alive
    clock.now += 0.1
    assert w.restart_if_due()
    assert w.join(10)
    assert w.error == "RuntimeError: boom 2"
    assert w.trouble() == "restarting in 10 s after RuntimeError: boom 2"  # doubled
    clock.now += 9.9
    assert not w.restart_if_due()
    clock.now += 0.1
    assert w.restart_if_due()
    assert flaky.working.wait(10)
    assert w.alive and w.error is None and w.trouble() is None and flaky.open == 1
    assert w.failures == 2 and flaky.runs == 3
    assert len({id(t) for t in flaky.threads}) == 3  # a new thread per run
    w.stop()
    assert not w.alive and flaky.open == 0 and w.error is None
    lines = [r.getMessage() for r in caplog.records]
    assert lines.count("flaky failed: RuntimeError: boom 1; restarting in 5 s") == 1
    assert lines.count("flaky restarting after RuntimeError: boom 1 (failure 1)") == 1
    assert lines.count("flaky failed: RuntimeError: boom 2; restarting in 10 s") == 1
    assert lines.count("flaky restarting after RuntimeError: boom 2 (failure 2)") == 1
    assert not any("stopped" in line for line in lines)


def test_the_back_off_doubles_up_to_5_minutes_and_starts_again_after_a_settled_run() -> None:
    b = Backoff()
    delays, last = [], None
    for _ in range(9):
        last = b.delay(last, ran_s=1.0)
        delays.append(last)
    assert delays == [5, 10, 20, 40, 80, 160, 300, 300, 300]
    assert b.delay(300, ran_s=599.0) == 300
    assert b.delay(300, ran_s=600.0) == 5


def test_a_worker_that_ran_fine_for_a_while_waits_5_s_again() -> None:
    clock = Clock()
    fail = threading.Event()

    def step(stop: threading.Event) -> None:
        if fail.is_set():
            fail.clear()
            raise OSError("gone")
        stop.wait(0.01)

    w = Worker("settles", step, critical=False, clock=clock,
               backoff=Backoff(first_s=5, cap_s=300, settled_s=600))
    w.start()
    delays = []
    for ran in (1.0, 1.0, 1.0, 600.0):
        clock.now += ran
        fail.set()
        assert w.join(10)
        assert w.restart_at is not None
        delays.append(w.restart_at - clock.now)
        clock.now = w.restart_at
        assert w.restart_if_due()
    w.stop()
    assert delays == [5, 10, 20, 5]


def test_stopping_during_the_back_off_cancels_the_restart() -> None:
    clock, flaky = Clock(), Flaky(fails=1)
    w = flaky.worker(clock)
    w.start()
    assert w.join(10) and w.restart_at is not None
    w.stop()
    clock.now += 3600
    assert not w.restart_if_due() and not w.alive and flaky.runs == 1


def test_a_worker_without_back_off_and_a_critical_one_stay_stopped(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    for kw in ({"critical": False, "backoff": None}, {"critical": True}):
        flaky = Flaky(fails=1)
        w = Worker("once", flaky.step, on_start=flaky.on_start, on_stop=flaky.on_stop,
                   clock=clock, **kw)
        w.start()
        assert w.join(10)
        clock.now += 3600
        assert not w.restart_if_due() and w.restart_at is None
        assert w.trouble() == "stopped after RuntimeError: boom 1" and flaky.open == 0
    stopped = [r.getMessage() for r in caplog.records if "stopped" in r.getMessage()]
    assert stopped == ["once stopped: RuntimeError: boom 1"] * 2


class _Notes(Notifier):
    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[str] = []

    def status(self, status: str) -> None:
        self.statuses.append(status)


class _Side:
    def __init__(self, *workers: Worker) -> None:
        self._workers = workers

    def start(self) -> None:
        for w in self._workers:
            w.start()

    def stop(self) -> None:
        for w in self._workers:
            w.stop()

    def status(self) -> str:
        return "side fine"

    def stats(self) -> dict[str, Any]:
        return {}

    def reload(self, cfg: Config) -> None:
        pass

    def workers(self) -> Sequence[Worker]:
        return self._workers


def test_the_supervisor_restarts_when_due_and_says_so_in_the_status_at_once() -> None:
    clock, flaky = Clock(), Flaky(fails=1)
    w = flaky.worker(clock)
    side = _Side(w)
    notes = _Notes()
    sup = Supervisor([side], notes)
    side.start()
    try:
        assert w.join(10)
        assert sup.check(clock.now) is False  # not critical: the daemon runs on
        assert notes.statuses[-1] == ("flaky: restarting in 5 s after RuntimeError: boom 1; "
                                      "side fine")
        clock.now += 4
        before = len(notes.statuses)
        assert sup.check(clock.now) is False and not w.alive
        assert len(notes.statuses) == before  # nothing changed, 5 s have not passed
        clock.now += 1
        assert sup.check(clock.now) is False
        assert flaky.working.wait(10)
        sup.check(clock.now + 0.5)
        assert notes.statuses[-1] == "side fine"  # back: said at once, not 5 s later
    finally:
        side.stop()


def test_the_supervisor_stops_the_daemon_for_a_critical_worker_only() -> None:
    flaky = Flaky(fails=1)
    w = Worker("vital", flaky.step, on_start=flaky.on_start, on_stop=flaky.on_stop)
    sup = Supervisor([_Side(w)], _Notes())
    w.start()
    assert w.join(10)
    assert sup.check(2000.0) is True and not w.alive and flaky.runs == 1


def test_a_people_thread_that_failed_answers_again_and_finish_does_not_wait_for_the_lost_check(
        ) -> None:
    import numpy as np

    from device.daemon.people import PeopleThread
    from device.wiring.people import PeopleCheck
    from motion.people import Person

    class BreaksOnce:
        name = "breaks-once"
        calls = 0

        def detect(self, image: np.ndarray) -> list[Person]:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("model crashed")
            return []

    people = PeopleThread(BreaksOnce())
    people.worker.backoff = Backoff(first_s=0.0)  # the wait is tested above with a clock
    image = np.zeros((8, 8, 3), np.uint8)
    people.start()
    try:
        people.submit(PeopleCheck(1, 0, 0.0, image, (0.0, 0.0, 1.0, 1.0)))
        assert people.worker.join(10) and people.worker.error == "RuntimeError: model crashed"
        assert people._gone and people.worker.restart_if_due()
        people.submit(PeopleCheck(1, 1, 0.0, image, (0.0, 0.0, 1.0, 1.0)))
        people.finish()  # returns on the second check's answer, not after FINISH_S
        assert [f.seq for f in people.results()] == [1] and people.answered == 1
        assert people._busy == 0  # the lost check is not waited for
        assert people.worker.alive and not people._gone
    finally:
        people.stop()
