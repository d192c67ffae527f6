"""The supervisor watches every thread the sides start: a side that starts a worker it does
not list makes the daemon refuse to run, and the sides already started are stopped."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from config import CaptureConfig, Config, StoreConfig
from device.daemon.notify import Notifier
from device.daemon.supervisor import Supervisor, UnwatchedWorker, build_sides
from device.daemon.workers import Worker


class _Side:
    """A minimal side with one worker; `hide` leaves a second one out of `workers()`."""

    def __init__(self, name: str, *, hide: bool = False) -> None:
        self.listed = Worker(name, lambda stop: stop.wait(0.05), max_silence=5.0)
        self.hidden = Worker(f"{name}-hidden", lambda stop: stop.wait(0.05)) if hide else None
        self.stopped = False

    def start(self) -> None:
        self.listed.start()
        if self.hidden is not None:
            self.hidden.start()

    def stop(self) -> None:
        self.stopped = True
        for w in (self.listed, self.hidden):
            if w is not None:
                w.stop()

    def status(self) -> str:
        return "ok"

    def stats(self) -> dict[str, Any]:
        return {}

    def reload(self, cfg: Config) -> None:
        pass

    def workers(self) -> Sequence[Worker]:
        return (self.listed,)


def test_a_side_with_an_unlisted_worker_is_refused_and_started_sides_stop() -> None:
    good, sneaky = _Side("good"), _Side("sneaky", hide=True)
    with pytest.raises(UnwatchedWorker, match="sneaky-hidden"), \
            contextlib.ExitStack() as stack:
        Supervisor([good, sneaky], Notifier()).start(stack)
    assert sneaky.hidden is not None and sneaky.hidden.alive is False
    assert good.stopped and sneaky.stopped and not good.listed.alive


def test_sides_that_list_their_workers_run_and_stop(tmp_path: Path) -> None:
    cfg = Config(capture=CaptureConfig(source="synthetic:porch?seconds=2"),
                 store=StoreConfig(path=str(tmp_path / "store")))
    stop, reload = threading.Event(), threading.Event()
    with contextlib.ExitStack() as stack:
        sides = build_sides(cfg, capture=True, pace=None, stack=stack)
        supervisor = Supervisor(sides, Notifier())
        supervisor.start(stack)
        names = {w.name for w in supervisor.workers()}
        # live: the live view's publisher; people: the people detector
        assert names == {"camera", "motion", "live", "people"}
        assert all(w.alive or w.error is None for w in supervisor.workers())
        stop.set()
        assert supervisor.run(stop, reload) is False
    assert not any(w.alive for w in supervisor.workers())
