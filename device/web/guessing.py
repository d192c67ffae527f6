"""Someone is guessing passwords: the access log's "guessing" entries, for the push thread.

A run of failed logins that pauses a source, an account or a browser writes one "guessing"
entry (pages/login.py). The push thread looks for new ones when the access log changes and
tells the owner's browsers, at most once per `gap_s` however many arrive, so a guesser with
many addresses cannot flood the owner's phone.
"""

from __future__ import annotations

from pathlib import Path

from device.web.access import AccessKind, open_access_log
from device.web.push.message import TITLE, Message
from device.web.words import GUESSING_PUSH


def guessing_message() -> Message:
    return Message(TITLE, GUESSING_PUSH, "/activity", "guessing")


class GuessingWatch:
    """New "guessing" entries in the access log at `path` since the last look."""

    def __init__(self, path: Path, gap_s: float = 600.0) -> None:
        self.path = path
        self.gap_s = gap_s
        self._seq: int | None = None
        self._last_alert = float("-inf")
        self._pending = False

    def _newest(self) -> tuple[int, list[float]]:
        """(the newest seq, the times of "guessing" entries after the last one seen)."""
        if not self.path.exists():
            return 0, []
        with open_access_log(self.path) as log:
            entries = list(log.entries(self._seq or 0))
        seq = entries[-1].seq if entries else self._seq or 0
        return seq, [e.at for e in entries if e.kind == AccessKind.GUESSING]

    def prime(self) -> None:
        """Remember where the log is now: guessing from before the server started is old."""
        self._seq = self._newest()[0]

    def due(self, now: float) -> bool:
        """True if a guessing entry is new since the last alert and none went out in the
        last `gap_s` seconds (the caller then sends one)."""
        if self._seq is None:
            self.prime()
            return False
        self._seq, fresh = self._newest()
        self._pending = self._pending or bool(fresh)
        if not self._pending or now - self._last_alert < self.gap_s:
            return False
        self._pending, self._last_alert = False, now
        return True
