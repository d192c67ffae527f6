"""Worker threads for the daemon: each owns its resources (they meet through
`common.dropqueue.DropQueue`s, which drop and count)."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable

log = logging.getLogger("doorcam")


_running: weakref.WeakSet[Worker] = weakref.WeakSet()


def running_workers() -> set[Worker]:
    """Every worker started and not yet finished, whoever made it."""
    return {w for w in list(_running) if w.alive}


class Worker:
    """A named thread running `step()` until stopped; records a heartbeat and its failure."""

    def __init__(self, name: str, step: Callable[[threading.Event], None],
                 *, on_stop: Callable[[], None] | None = None,
                 max_silence: float | None = None, critical: bool = True) -> None:
        self.name = name
        # A critical worker's failure stops the daemon (systemd restarts it); others only
        # degrade it: the camera keeps recording when, say, the agency registry is unusable.
        self.critical = critical
        # Longest time between heartbeats before the worker counts as hung (None: unwatched).
        self.max_silence = max_silence
        self._step = step
        self._on_stop = on_stop
        self.stop_event = threading.Event()
        self.heartbeat = time.monotonic()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        _running.add(self)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self.stop_event.is_set():
                self._step(self.stop_event)
                self.heartbeat = time.monotonic()
        except Exception as exc:  # a worker reports its failure; it does not raise
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("%s stopped: %s", self.name, self.error)
        finally:
            if self._on_stop:
                try:
                    self._on_stop()
                except Exception as exc:
                    log.error("%s: cleanup failed: %s", self.name, exc)

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stale(self, now: float) -> bool:
        """Alive but silent for longer than it may be: hung or stalled."""
        return (self.max_silence is not None and self.alive
                and now - self.heartbeat > self.max_silence)
