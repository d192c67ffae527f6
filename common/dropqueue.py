"""A bounded hand-off between two threads that never blocks the producer."""

from __future__ import annotations

import queue
from typing import Generic, TypeVar

T = TypeVar("T")


class DropQueue(Generic[T]):
    """When full, the oldest item goes (counted in `dropped`) to make room for the new one."""

    def __init__(self, maxsize: int) -> None:
        self._q: queue.Queue[T] = queue.Queue(maxsize=maxsize)
        self.dropped = 0

    def put(self, item: T) -> bool:
        """Queue `item`; True when an older item was dropped for it."""
        dropped = False
        while True:
            try:
                self._q.put_nowait(item)
                return dropped
            except queue.Full:
                try:
                    self._q.get_nowait()
                    self.dropped += 1
                    dropped = True
                except queue.Empty:
                    pass

    def get(self, timeout: float) -> T | None:
        try:
            return self._q.get(timeout=timeout)
        except queue.Empty:
            return None
