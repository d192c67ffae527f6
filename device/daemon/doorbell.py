"""The daemon's doorbell side: one thread (`doorbell`) owns the button and the chime relay.

gpiozero reports edges on its own thread; they reach ours through a queue, and everything
else happens here: debouncing, the journal entry, the chime pulse, and handing the ring to
the observers (the capture side records it, the status side tells Home Assistant).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol

from config import Config
from config.doorbell import DoorbellConfig
from device.daemon.gpio import ButtonPin, GpioError, RelayPin
from device.daemon.logsetup import event
from device.daemon.workers import Worker

log = logging.getLogger("doorcam")
IDLE_S = 0.5  # longest wait for an edge: the heartbeat stays fresh


class RingObserver(Protocol):
    def ring(self, wall: float) -> None:
        """Called on the doorbell thread; must not block."""
        ...


class DoorbellSide:
    def __init__(self, cfg: DoorbellConfig) -> None:
        self.cfg = cfg
        self.observers: list[RingObserver] = []
        self.rings = 0
        self.last_ring: float | None = None
        self.fault: str | None = None
        self._edges: queue.SimpleQueue[tuple[bool, float]] = queue.SimpleQueue()
        self._button: ButtonPin | None = None
        self._chime: RelayPin | None = None
        self._chime_off_at: float | None = None
        self._last_edge = float("-inf")
        # Not critical: a doorbell that cannot open its pins must not stop the camera.
        self.worker = Worker("doorbell", self._step, on_stop=self._close, max_silence=10.0,
                             critical=False)

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        self.worker.stop()

    def workers(self) -> Sequence[Worker]:
        return (self.worker,)

    def reload(self, cfg: Config) -> None:
        """Doorbell settings apply at the next start (the supervisor names them)."""

    def stats(self) -> dict[str, Any]:
        return {"rings": self.rings}

    def status(self) -> str:
        if self.fault:
            return f"doorbell off: {self.fault}"
        if self.last_ring is None:
            return "doorbell: no ring yet"
        return f"doorbell: {self.rings} ring(s), last {time.time() - self.last_ring:.0f} s ago"

    # -- gpiozero's callback thread ----------------------------------------------------------
    def _on_edge(self, pressed: bool) -> None:
        self._edges.put((pressed, time.monotonic()))

    # -- the doorbell thread -----------------------------------------------------------------
    def _step(self, stop: threading.Event) -> None:
        if self._button is None:
            self._open()
        wait = IDLE_S
        if self._chime_off_at is not None:
            wait = min(wait, max(0.0, self._chime_off_at - time.monotonic()))
        try:
            pressed, at = self._edges.get(timeout=wait)
        except queue.Empty:
            pass
        else:
            self._edge(pressed, at)
        if self._chime_off_at is not None and time.monotonic() >= self._chime_off_at:
            assert self._chime is not None
            self._chime.off()
            self._chime_off_at = None

    def _open(self) -> None:
        """Open the pins; a GpioError (a pin in use, no GPIO) fails this run, and the
        worker tries again after its back-off: the pin may be freed, the board fixed."""
        c = self.cfg
        # After a failure, a new run: the closed pin's edges neither ring nor debounce.
        while not self._edges.empty():
            self._edges.get_nowait()
        self._last_edge = float("-inf")
        try:
            self._button = ButtonPin(c.pin, pull_up=c.pull_up, bounce_s=c.bounce_ms / 1000,
                                     on_edge=self._on_edge)
            if c.chime_pin:
                self._chime = RelayPin(c.chime_pin, active_high=c.chime_active_high)
        except GpioError as exc:
            self.fault = str(exc)
            self._close()
            raise
        self.fault = None
        log.info("doorbell button on GPIO %d%s", c.pin,
                 f", chime relay on GPIO {c.chime_pin}" if c.chime_pin else "")

    def _edge(self, pressed: bool, at: float) -> None:
        # The pin library's own debounce is not everywhere (gpiozero's mock pins have none):
        # an edge this soon after the previous one is the contact bouncing.
        quiet = at - self._last_edge >= self.cfg.bounce_ms / 1000
        self._last_edge = at
        if pressed and quiet:
            self._ring()

    def _ring(self) -> None:
        wall = time.time()
        self.rings += 1
        self.last_ring = wall
        log.info("doorbell rang (%d since start)", self.rings, extra=event("doorbell_ring"))
        if self._chime is not None:
            self._chime.on()
            self._chime_off_at = time.monotonic() + self.cfg.chime_ms / 1000
        for observer in self.observers:
            observer.ring(wall)

    def _close(self) -> None:
        for pin in (self._chime, self._button):
            if pin is not None:
                pin.close()
        self._chime = self._button = None
        self._chime_off_at = None
