"""A frame source read on a thread of its own, so that a read which never returns (a camera
that stops without an error) is noticed by the camera worker instead of hanging it."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from capture.frame import Frame, FrameSource

_END = object()


class NoFrame(Exception):
    """Nothing arrived within the wait; `waited` says since when (s) the reader has been silent."""

    def __init__(self, waited: float) -> None:
        super().__init__(f"no frame for {waited:.2f} s")
        self.waited = waited


class FrameReader:
    """Opens, reads and closes one source on its own thread (the source's one owner).

    `next()` hands over frames one at a time; `close()` asks the thread to stop, and it closes
    the source when its current read returns. A read that never returns leaves the thread
    behind: `close()` then says so, and the caller decides what a stuck camera means.
    """

    def __init__(self, open_source: Callable[[], FrameSource], name: str = "camera-read") -> None:
        self._open = open_source
        self._handoff: queue.Queue[Any] = queue.Queue(maxsize=2)
        self._closing = threading.Event()
        self.source: FrameSource | None = None
        self.delivered = 0
        self.last = time.monotonic()  # the last frame's arrival (or the opening)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.source = self._open()
            for frame in self.source.frames():
                if not self._offer(frame):
                    return
            self._offer(_END)
        except BaseException as exc:  # handed to the camera worker, which decides
            self._offer(exc)
        finally:
            if self.source is not None:
                with contextlib.suppress(Exception):
                    self.source.close()

    def _offer(self, item: Any) -> bool:
        while not self._closing.is_set():
            try:
                self._handoff.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def next(self, timeout: float) -> Frame | None:
        """The next frame, or None at the end of the source.

        Raises what opening or reading raised (SourceError for a camera failure), or NoFrame
        when nothing came within `timeout`.
        """
        try:
            item = self._handoff.get(timeout=timeout)
        except queue.Empty:
            raise NoFrame(time.monotonic() - self.last) from None
        if item is _END:
            return None
        if isinstance(item, BaseException):
            raise item
        self.delivered += 1
        self.last = time.monotonic()
        assert isinstance(item, Frame)
        return item

    def close(self, wait: float = 1.0) -> bool:
        """Stop reading; True once the thread has ended (and closed the source)."""
        self._closing.set()
        with contextlib.suppress(queue.Empty):
            while True:  # a thread blocked on a full handoff can then see `_closing`
                self._handoff.get_nowait()
        self._thread.join(wait)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
