"""`doorcam run` as a child process whose log lines a test can wait on (a reader thread
collects stderr while it runs), and a notify socket standing in for systemd's."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.log_lines import LogLines

REPO = Path(__file__).resolve().parent.parent


class DaemonRun:
    def __init__(self, config: Path, *, speed: str = "4", env: dict[str, str] | None = None,
                 extra: Sequence[str] = ()) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "device.cli", "run", "--config", str(config),
             "--speed", speed, *extra],
            cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
        self.log = LogLines(self.proc)

    @property
    def stderr(self) -> str:
        """The log so far (all of it once the process has ended)."""
        return self.log.text(timeout=0 if self.running() else 10)

    def wait_for_line(self, text: str, timeout: float = 60, *, after: int = 0) -> int:
        """Wait for a log line containing `text` (from line index `after` on); its index."""
        return self.log.wait_for(text, timeout, start=after)

    def line_count(self) -> int:
        return len(self.log)

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


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


