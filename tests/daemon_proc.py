"""`doorcam run` as a child process whose log lines a test can wait on (a reader thread
collects stderr while it runs), and a notify socket standing in for systemd's."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


class DaemonRun:
    def __init__(self, config: Path, *, speed: str = "4", env: dict[str, str] | None = None,
                 extra: Sequence[str] = ()) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "device.cli", "run", "--config", str(config),
             "--speed", speed, *extra],
            cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def stderr(self) -> str:
        with self._cond:
            return "".join(self._lines)

    def wait_for_line(self, text: str, timeout: float = 60, *, after: int = 0) -> int:
        """Wait for a log line containing `text` (from line index `after` on); its index."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(after, len(self._lines)):
                    if text in self._lines[i]:
                        return i
                if self.proc.poll() is not None and not self._reader.is_alive():
                    pytest.fail(f"doorcam run exited ({self.proc.returncode}) before "
                                f"logging {text!r}:\n{''.join(self._lines)[-3000:]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no log line {text!r} within {timeout} s:\n"
                                f"{''.join(self._lines)[-3000:]}")
                self._cond.wait(min(left, 0.5))

    def line_count(self) -> int:
        with self._cond:
            return len(self._lines)

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit code; the log is complete afterwards."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reader.join(10)


class NotifySocket:
    """The datagram socket systemd gives a Type=notify service, in a test's folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []

    def env(self, **more: str) -> dict[str, str]:
        return dict(os.environ, NOTIFY_SOCKET=str(self.path), **more)

    def wait_for(self, predicate: object, timeout: float, what: str) -> list[str]:
        """Receive until `predicate(messages)` holds; the messages so far."""
        deadline = time.monotonic() + timeout
        self.sock.settimeout(0.2)
        while not predicate(self.messages):  # type: ignore[operator]
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout} s waiting for {what}: "
                            f"{self.messages[-5:]}")
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue
        return self.messages

    def close(self) -> None:
        self.sock.close()


__all__ = ["REPO", "DaemonRun", "NotifySocket", "signal"]
