"""The official tus Node server (tests/tus_node/server.mjs) for the interop tests: its npm
packages installed once from the pinned package-lock, and the server as a child process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

from tests import npm
from tests.broker import free_port
from tests.support import require, wait_until

HERE = Path(__file__).resolve().parents[2] / "tus_node"


def node_modules() -> Path:
    """The tus server's locked packages (tests/npm.py); @tus/server needs Node >= 20.19."""
    require(shutil.which("node") is not None,
            "node not installed (apt install nodejs npm); the tus Node interop needs it")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    major_minor = tuple(int(p) for p in version.strip().lstrip("v").split(".")[:2])
    require(major_minor >= (20, 19), f"@tus/server needs Node >= 20.19, not {version.strip()} "
            "(Debian 12's nodejs is 18: use NodeSource's)")
    return npm.node_modules(HERE)


class NodeTusServer:
    """The Node server as a child process, restartable on the same port and store.

    `store` is the server's arguments after the port: `["file", DIR]` or
    `["s3", BUCKET, ENDPOINT]` (then `env` carries the S3 credentials and region)."""

    def __init__(self, modules: Path, workdir: Path, store: list[str],
                 env: dict[str, str] | None = None) -> None:
        # ES modules find node_modules beside the script, and ignore NODE_PATH.
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "node_modules").symlink_to(modules, target_is_directory=True)
        self.script = workdir / "server.mjs"
        shutil.copyfile(HERE / "server.mjs", self.script)
        self.args = store
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/files/"
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> NodeTusServer:
        env = None if self.env is None else {**os.environ, **self.env}
        proc = subprocess.Popen(["node", str(self.script), str(self.port), *self.args],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env)
        self.proc = proc
        mark = len(self.lines)
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()
        wait_until(lambda: f"listening on {self.port}" in self.lines[mark:]
                   or proc.poll() is not None, 30, "the tus Node server to listen")
        assert proc.poll() is None, "\n".join(self.lines)
        return self

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def kill(self) -> None:
        """SIGKILL: no goodbye to the client, whatever was in flight is cut."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def upload_id(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]
