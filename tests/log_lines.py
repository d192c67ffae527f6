"""A child's stderr read line by line on a thread, so a test waits for the line that says a
thing happened (the daemon is listening, a request was handled) instead of sleeping."""

from __future__ import annotations

import subprocess
import threading
import time


class LogLines:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None, "start the process with stderr=subprocess.PIPE"
        self._stream = proc.stderr
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._done = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for line in self._stream:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._done = True
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 30.0, start: int = 0) -> int:
        """Index of the first line from `start` on that contains `text`; fails after
        `timeout` seconds or when the stream ends without it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for i in range(start, len(self._lines)):
                    if text in self._lines[i]:
                        return i
                start = len(self._lines)
                remaining = deadline - time.monotonic()
                if self._done or remaining <= 0:
                    tail = "".join(self._lines[-20:])
                    raise AssertionError(f"no log line with {text!r} within {timeout}s:\n{tail}")
                self._changed.wait(remaining)

    def __len__(self) -> int:
        with self._changed:
            return len(self._lines)

    def text(self, timeout: float = 30.0) -> str:
        """Everything, once the process has closed its stderr."""
        self._thread.join(timeout)
        with self._changed:
            return "".join(self._lines)
