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
    """How many refused sign-ins are written down. The access log keeps every entry (it is
    tamper-evident), and anyone who can reach the login page can be refused: without a
    bound, strangers could fill the disk, and the Activity page (which reads the whole log)
    would grow without end. At most `per_source` from one source in each `window_s`, and
    `in_all` from every source together in each `all_window_s` (a day); safe from any
    thread. What is not written down still counts towards pauses."""

    def __init__(self, in_all: int = 100, all_window_s: float = 86400.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.in_all = in_all
        self.all_window_s = all_window_s
        self.clock = clock
        self._counts: dict[str, tuple[float, int]] = {}  # source: (window start, count)
        self._all: tuple[float, int] = (float("-inf"), 0)
        self._lock = threading.Lock()

    def take(self, source: str, per_source: int, window_s: float) -> bool:
        """True if this refusal from `source` may be written down (and it is counted)."""
        now = self.clock()
        with self._lock:
            start, count = self._all
            if now - start >= self.all_window_s:
                start, count = now, 0
                self._counts.clear()  # at most `in_all` sources are kept: one a day's take
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


# One web process, one quota for each way of signing in.
PASSKEY_REFUSALS = RecordQuota()
