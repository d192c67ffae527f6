"""When retention runs in the daemon: after every stored clip, after a recording failure
(a full disk frees space) and every minute. Runs on the motion thread, which owns the store."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from device.store import StoreError

log = logging.getLogger("doorcam")
PRUNE_EVERY_S = 60.0


class RetentionScheduler:
    def __init__(self, clips_stored: Callable[[], int], *,
                 every_s: float = PRUNE_EVERY_S) -> None:
        self._clips_stored = clips_stored
        self._every = every_s
        self._after = 0
        self._last = time.monotonic()

    def due(self) -> bool:
        return (self._clips_stored() != self._after
                or time.monotonic() - self._last > self._every)

    def run(self, store: Any) -> None:
        self._after, self._last = self._clips_stored(), time.monotonic()
        try:
            for clip_id in store.prune(time.time()):
                log.info("retention: deleted clip %s", clip_id)
        except StoreError as exc:
            log.error("retention failed: %s", exc)
