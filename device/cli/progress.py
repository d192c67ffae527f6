"""Terminal output for the simulation: a progress bar that event lines print above."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """A one-line progress bar on a terminal; plain periodic lines when not a terminal."""

    def __init__(self, total: int | None, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.total = total
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self._start = time.monotonic()
        self._last_draw = 0.0
        self._shown = False

    def update(self, done: int, media_seconds: float) -> None:
        now = time.monotonic()
        if now - self._last_draw < (0.1 if self.tty else 5.0):
            return
        self._last_draw = now
        self._draw(done, media_seconds, now)

    def _draw(self, done: int, media_seconds: float, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        fps = done / elapsed
        if self.total:
            frac = min(done / self.total, 1.0)
            filled = int(frac * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            text = f"[{bar}] {frac:4.0%} {done}/{self.total} frames"
        else:
            text = f"{done} frames"
        text += f"  {media_seconds:6.1f}s of video  {fps:6.0f} fps"
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
            self._shown = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def message(self, line: str) -> None:
        """Print a line above the bar."""
        if self.tty and self._shown:
            self.stream.write("\r\x1b[2K")
        self.stream.write(line + "\n")
        self.stream.flush()
        self._last_draw = 0.0

    def finish(self, done: int, media_seconds: float) -> None:
        self._draw(done, media_seconds, time.monotonic())
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()
