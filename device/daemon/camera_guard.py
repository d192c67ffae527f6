"""Camera faults on a live source: an error, the stream ending, a frozen picture. Each is
reported and the camera reopened after a backoff that grows while it keeps failing."""

from __future__ import annotations

import logging

import numpy as np

from device.daemon.logsetup import event

log = logging.getLogger("doorcam")


class CameraGuard:
    FROZEN_FRAMES = 2  # identical frames in a row; a real sensor's noise never repeats

    def __init__(self, backoff_min: float = 1.0, backoff_max: float = 60.0) -> None:
        self.backoff_min, self.backoff_max = backoff_min, backoff_max
        self.fault: str | None = None
        self.restarts = 0
        self.retry_at = 0.0
        self._delay = backoff_min
        self._prev: np.ndarray | None = None
        self._same = 0
        self._good = 0

    def failed(self, reason: str, now: float) -> None:
        """Record a fault; the camera is reopened at `retry_at`."""
        self.fault = reason
        self.restarts += 1
        self.retry_at = now + self._delay
        log.error("camera fault: %s; reopening in %.0f s (restart %d)", reason, self._delay,
                  self.restarts, extra=event("camera_fault"))
        self._delay = min(self._delay * 2, self.backoff_max)
        self._prev, self._same, self._good = None, 0, 0

    def frozen(self, lores: np.ndarray) -> bool:
        prev, self._prev = self._prev, lores
        same = prev is not None and prev.shape == lores.shape and np.array_equal(prev, lores)
        self._same = self._same + 1 if same else 0
        return self._same >= self.FROZEN_FRAMES

    def good_frame(self) -> None:
        """Frames flow again: after a few, the fault is over and the backoff resets."""
        self._good += 1
        if self.fault and self._good >= 25:
            log.info("camera recovered after %d restart(s)", self.restarts,
                     extra=event("camera_recovered"))
            self.fault = None
            self._delay = self.backoff_min

    def status(self) -> str:
        return f"camera FAULT ({self.fault}), restarts {self.restarts}" if self.fault else ""
