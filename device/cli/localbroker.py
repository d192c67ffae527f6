"""A private mosquitto broker on loopback (for the demo and the tests): own config file, a free
127.0.0.1 port, stopped by PID. Never touches a system broker."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

START_TIMEOUT_S = 5.0


def mosquitto_path() -> str | None:
    found = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    return found if os.access(found, os.X_OK) else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class MosquittoBroker:
    """One mosquitto process. `start()` after `stop()`/`kill()` restarts it on the same port.

    With `persistence_dir`, sessions, queued QoS 1 messages and retained messages survive a
    restart (saved after every change, so even `kill()` loses nothing); without, a restart
    forgets everything, like a broker replaced by a fresh one.
    """

    def __init__(self, persistence_dir: Path | None = None, *, port: int | None = None,
                 work_dir: Path | None = None, extra_config: str = "",
                 binary: str | None = None) -> None:
        found = binary or mosquitto_path()
        if found is None:
            raise RuntimeError("mosquitto is not installed (apt install mosquitto)")
        self.binary = found
        self.port = port or free_port()
        self.persistence_dir = persistence_dir
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="mosquitto-"))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.work_dir / "mosquitto.conf"
        self.log_path = self.work_dir / "mosquitto.log"
        self.config_path.write_text(self._config_text(extra_config), encoding="utf-8")
        self._proc: subprocess.Popen[bytes] | None = None

    def _config_text(self, extra: str) -> str:
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true",
                 "log_dest stderr", "log_type all", "connection_messages true"]
        if os.geteuid() == 0:
            # As root, mosquitto would switch to user `mosquitto` and lose access to our files.
            lines.append("user root")
        if self.persistence_dir is None:
            lines.append("persistence false")
        else:
            self.persistence_dir.mkdir(parents=True, exist_ok=True)
            lines += ["persistence true", f"persistence_location {self.persistence_dir}/",
                      "autosave_on_changes true", "autosave_interval 1"]
        return "\n".join([*lines, extra, ""])

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start (or restart) on `self.port` and wait until it accepts connections."""
        if self.running:
            return
        log = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen([self.binary, "-c", str(self.config_path)],
                                          stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited ({self._proc.returncode}):\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"mosquitto not listening on {self.port} in {START_TIMEOUT_S}s:\n"
                           f"{self.log()}")

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (mosquitto saves persistence and closes clients), SIGKILL if it lingers."""
        self._signal(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients."""
        self._signal(signal.SIGKILL, 5.0)

    def _signal(self, sig: signal.Signals, timeout: float) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5.0)

    def log(self, tail: int = 4000) -> str:
        """The end of the broker's log, for assertion messages."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-tail:]
        except FileNotFoundError:
            return ""

    def __enter__(self) -> MosquittoBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
