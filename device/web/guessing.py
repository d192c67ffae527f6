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


class RecordQuota:
    """How many refused passkey sign-ins are written down: a refusal pauses nothing (it
    guessed no password), so without a bound anyone could fill the access log and the
    disk, and push the owner's own entries off the Activity page. At most `per_source`
    from one source and `in_all` from every source together in each `window_s`; safe
    from any thread."""

    def __init__(self, in_all: int = 100, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.in_all = in_all
        self.clock = clock
        self._counts: dict[str, tuple[float, int]] = {}  # source: (window start, count)
        self._all: tuple[float, int] = (float("-inf"), 0)
        self._lock = threading.Lock()

    def take(self, source: str, per_source: int, window_s: float) -> bool:
        """True if this refusal from `source` may be written down (and it is counted)."""
        now = self.clock()
        with self._lock:
            start, count = self._all
            if now - start >= window_s:
                self._all = start, count = now, 0
                self._counts.clear()  # every source's window began within this one
            if count >= self.in_all:
                return False
            mine_start, mine = self._counts.get(source, (now, 0))
            if now - mine_start >= window_s:
                mine_start, mine = now, 0
            if mine >= per_source:
                return False
            self._counts[source] = (mine_start, mine + 1)
            self._all = start, count + 1
            return True


# One web process, one quota.
PASSKEY_REFUSALS = RecordQuota()
