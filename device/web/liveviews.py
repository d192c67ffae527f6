"""Who is watching live video, from when to when: the household access log gets one entry
when a live view starts and one with its times when it ends (no request for IDLE_S)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

IDLE_S = 15.0  # a player fetches a fragment every half second; this long without: it ended
MAX_VIEWS = 64  # views tracked at once (the oldest are ended first beyond that)


@dataclass
class LiveView:
    account: str
    key: str
    start: float
    last: float


class LiveViews:
    """Live views of this web process (thread-safe: pages run in a thread pool)."""

    def __init__(self) -> None:
        self._views: dict[tuple[str, str], LiveView] = {}
        self._lock = threading.Lock()

    def touch(self, account: str, key: str, now: float) -> tuple[LiveView | None,
                                                                  list[LiveView]]:
        """Note a request of view `key`: (the view if it just started, views that ended)."""
        with self._lock:
            ended = self._expire(now)
            view = self._views.get((account, key))
            if view is not None:
                view.last = now
                return None, ended
            while len(self._views) >= MAX_VIEWS:
                oldest = min(self._views.values(), key=lambda v: v.last)
                ended.append(self._views.pop((oldest.account, oldest.key)))
            view = self._views[(account, key)] = LiveView(account, key, now, now)
            return view, ended

    def expire(self, now: float) -> list[LiveView]:
        with self._lock:
            return self._expire(now)

    def end_all(self) -> list[LiveView]:
        with self._lock:
            ended = list(self._views.values())
            self._views.clear()
            return ended

    def _expire(self, now: float) -> list[LiveView]:
        gone = [k for k, v in self._views.items() if now - v.last > IDLE_S]
        return [self._views.pop(k) for k in gone]

    def __len__(self) -> int:
        return len(self._views)
