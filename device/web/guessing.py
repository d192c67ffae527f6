"""Someone is guessing passwords: telling the account's browsers by push, not too often.

A run of failed logins that begins a pause writes a "guessing" entry (pages/login.py) and
hands the push thread a security alert for the account it named (`PushService.alert`). At
most one alert per account every `gap_s`, however many pauses begin, so a guesser with many
addresses cannot keep the owner's phone buzzing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

GAP_S = 600.0


class AlertGate:
    """Whether an account may be alerted now; safe from any thread (request handlers)."""

    def __init__(self, gap_s: float = GAP_S, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.gap_s = gap_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def open(self, account: str) -> bool:
        """True (and the gap starts) unless `account` was alerted less than `gap_s` ago."""
        now = self.clock()
        with self._lock:
            if now - self._last.get(account, float("-inf")) < self.gap_s:
                return False
            self._last = {a: t for a, t in self._last.items() if now - t < self.gap_s}
            self._last[account] = now
            return True


# One web process, one gate: the alerts it let through are the process's own.
GATE = AlertGate()
