"""Worker threads for the daemon: each owns its resources (they meet through
`common.dropqueue.DropQueue`s, which drop and count)."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("doorcam")


_running: weakref.WeakSet[Worker] = weakref.WeakSet()


def running_workers() -> set[Worker]:
    """Every worker started and not yet finished, whoever made it."""
    return {w for w in list(_running) if w.alive}


@dataclass(frozen=True)
class Backoff:
    """How long a failed non-critical worker waits before its next run: `first_s`, doubling
    up to `cap_s`; a run that lasted `settled_s` or more counts as a recovery, so its failure
    waits `first_s` again. A worker that keeps failing is retried for ever, never in a loop."""

    first_s: float = 5.0
    cap_s: float = 300.0
    settled_s: float = 600.0

    def delay(self, previous: float | None, ran_s: float) -> float:
        if previous is None or ran_s >= self.settled_s:
            return self.first_s
        return min(previous * 2, self.cap_s)


BACKOFF = Backoff()


class Worker:
    """A named thread running `step()` until stopped; records a heartbeat and its failure.

    Each run is a new thread (a Python thread runs once): `on_start` (if any) opens, then
    `step` repeats, and `on_stop` closes on that same thread however the run ends. A
    non-critical worker that fails is run again once its back-off has passed, when the
    supervisor calls `restart_if_due`; so what `on_stop` closes, the next run must open."""

    def __init__(self, name: str, step: Callable[[threading.Event], None],
                 *, on_start: Callable[[], None] | None = None,
                 on_stop: Callable[[], None] | None = None,
                 max_silence: float | None = None, critical: bool = True,
                 backoff: Backoff | None = BACKOFF,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        # A critical worker's failure stops the daemon (systemd restarts it); others only
        # degrade it: the camera keeps recording when, say, the agency registry is unusable.
        self.critical = critical
        # Non-critical only: None keeps a failed worker stopped until the daemon restarts.
        self.backoff = None if critical else backoff
        # Longest time between heartbeats before the worker counts as hung (None: unwatched).
        self.max_silence = max_silence
        self._step = step
        self._on_start = on_start
        self._on_stop = on_stop
        self._clock = clock
        self.stop_event = threading.Event()
        self.heartbeat = time.monotonic()
        self.error: str | None = None  # why the worker is not running (None while it runs)
        self.failures = 0
        self.restart_at: float | None = None  # on `clock`, while waiting out the back-off
        self._delay: float | None = None
        self._run_started = 0.0
        self._lock = threading.Lock()  # the supervisor restarts, the main thread stops
        self._thread = self._new_thread()

    def _new_thread(self) -> threading.Thread:
        return threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        _running.add(self)
        self._run_started = self._clock()
        self._thread.start()

    def _run(self) -> None:
        failure = None
        try:
            if self._on_start:
                self._on_start()
            while not self.stop_event.is_set():
                self._step(self.stop_event)
                self.heartbeat = time.monotonic()
        except Exception as exc:  # a worker reports its failure; it does not raise
            failure = f"{type(exc).__name__}: {exc}"
            self._log_failure(failure)
        finally:
            if self._on_stop:
                try:
                    self._on_stop()
                except Exception as exc:
                    log.error("%s: cleanup failed: %s", self.name, exc)
        if failure is not None:
            self._failed(failure)

    def _log_failure(self, failure: str) -> None:
        if self.backoff is None or self.stop_event.is_set():
            log.error("%s stopped: %s", self.name, failure)
            return
        with self._lock:
            now = self._clock()
            self._delay = self.backoff.delay(self._delay, now - self._run_started)
        log.error("%s failed: %s; restarting in %.0f s", self.name, failure, self._delay)

    def _failed(self, failure: str) -> None:
        """Recorded after `on_stop`: a restart never overlaps the failed run's cleanup."""
        with self._lock:
            self.failures += 1
            self.error = failure
            if self.backoff is not None and self._delay is not None \
                    and not self.stop_event.is_set():
                self.restart_at = self._clock() + self._delay

    def restart_if_due(self) -> bool:
        """Run a failed non-critical worker again once its back-off has passed (supervisor)."""
        with self._lock:
            due = self.restart_at
            if due is None or self.stop_event.is_set() or self._clock() < due:
                return False
            self._thread.join()  # its failure is recorded last: it has ended or is ending
            log.info("%s restarting after %s (failure %d)", self.name, self.error,
                     self.failures)
            self.error = None
            self.restart_at = None
            self.heartbeat = time.monotonic()
            self._run_started = self._clock()
            self._thread = self._new_thread()
            self._thread.start()
            return True

    def trouble(self) -> str | None:
        """Why this worker is not running, for the status line; None while it runs."""
        with self._lock:
            error, due = self.error, self.restart_at
        if error is None:
            return None
        if due is None:
            return f"stopped after {error}"
        wait = max(0.0, due - self._clock())
        return f"restarting in {wait:.0f} s after {error}"

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            self.stop_event.set()
            self.restart_at = None
            thread = self._thread
        if thread.ident is not None:
            thread.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the current run to end; True when it has."""
        thread = self._thread
        thread.join(timeout)
        return not thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stale(self, now: float) -> bool:
        """Alive but silent for longer than it may be: hung or stalled."""
        return (self.max_silence is not None and self.alive
                and now - self.heartbeat > self.max_silence)
