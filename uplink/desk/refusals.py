"""Refused messages in the audit log, bounded.

Anyone who can publish on the agency broker (or on the home broker's decisions topic) can
send junk. Each refusal written to the audit log is a synced write: a flood would wear the
SD card, bury what the owner reads and fill the disk, where the clip store then deletes the
oldest clips to keep its free space. So the first PER_WINDOW refusals in a window are
written one by one and the rest are counted; once the window is over, one entry says how
many were not written and why (written with the next refusal, or by `flush`).
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from uplink.audit import AuditKind, AuditLog

PER_WINDOW = 60
WINDOW_S = 3600.0
UNWRITTEN = "unwritten"  # the reason of the entry that counts the refusals not written

log = logging.getLogger(__name__)


class RefusalLog:
    """Writes refusals to `audit` within the bound; use it from the desk's thread."""

    def __init__(self, audit: AuditLog, per_window: int = PER_WINDOW,
                 window_s: float = WINDOW_S) -> None:
        self.audit = audit
        self.per_window = per_window
        self.window_s = window_s
        self._start = -math.inf
        self._written = 0
        self._unwritten: Counter[str] = Counter()

    def record(self, request_id: str | None, detail: Mapping[str, Any], now: float) -> bool:
        """Audit one refusal (detail has its "reason") if the window allows; True if written."""
        self.flush(now)
        if now - self._start >= self.window_s:
            self._start, self._written = now, 0
        if self._written < self.per_window:
            self._written += 1
            self.audit.append(AuditKind.REJECTED, request_id, detail, at=now)
            return True
        if not self._unwritten:
            log.warning("more than %d messages refused since %s: the rest of this hour's "
                        "are counted, not written one by one", self.per_window,
                        _clock(self._start))
        self._unwritten[str(detail.get("reason", "?"))] += 1
        return False

    def flush(self, now: float) -> None:
        """Write the count of the window's unwritten refusals once the window is over."""
        if not self._unwritten or now - self._start < self.window_s:
            return
        count = sum(self._unwritten.values())
        self.audit.append(AuditKind.REJECTED, None, {
            "reason": UNWRITTEN, "count": count, "since": self._start,
            "until": self._start + self.window_s,
            "reasons": dict(self._unwritten.most_common(10))}, at=now)
        log.warning("%d more messages were refused in that hour (%s)", count,
                    ", ".join(f"{r}: {n}" for r, n in self._unwritten.most_common(3)))
        self._unwritten.clear()


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))
