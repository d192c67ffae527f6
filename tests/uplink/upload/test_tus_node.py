"""Interop: the uploader against the official tus Node server (@tus/server + @tus/file-store)
from the npm registry, which checks the whole file's SHA-256 in its finish hook
(tests/tus_node/server.mjs): it has no checksum extension, so no chunk carries a checksum."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.broker import free_port
from tests.support import require, wait_until
from tests.uplink.upload.conftest import LOOPBACK, dev_config, write_random
from tests.uplink.upload.netfaults import FaultProxy
from uplink.upload.resume import SqliteResumeStore
from uplink.upload.tus import TusClient

SERVER_VERSION = "2.4.5"
FILE_STORE_VERSION = "2.1.1"
CACHE = Path(os.environ.get("DOORCAM_TUS_NODE_CACHE", "/var/tmp/doorcam-tus-node"))
SCRIPT = Path(__file__).resolve().parents[2] / "tus_node" / "server.mjs"
MiB = 1 << 20


def _node_modules() -> Path:
    """The pinned packages, installed once into a cache folder outside the checkout."""
    require(shutil.which("node") and shutil.which("npm"),
            "node and npm not installed (apt install nodejs npm); the tus Node interop needs them")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    major_minor = tuple(int(p) for p in version.strip().lstrip("v").split(".")[:2])
    require(major_minor >= (20, 19), f"@tus/server {SERVER_VERSION} needs Node >= 20.19, "
            f"not {version.strip()} (Debian 12's nodejs is 18: use NodeSource's)")
    folder = CACHE / f"server-{SERVER_VERSION}_file-store-{FILE_STORE_VERSION}"
    if not (folder / "node_modules" / "@tus" / "file-store" / "package.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "package.json").write_text('{"private": true}\n', encoding="utf-8")
        run = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
             f"@tus/server@{SERVER_VERSION}", f"@tus/file-store@{FILE_STORE_VERSION}"],
            cwd=folder, capture_output=True, text=True, timeout=300)
        require(run.returncode == 0,
                f"npm install of @tus/server failed (no registry?): {run.stderr[-500:]}")
    return folder


class NodeTusServer:
    """The Node server as a child process, restartable on the same port and store folder."""

    def __init__(self, folder: Path, store: Path) -> None:
        self.script = folder / "server.mjs"  # ES modules find node_modules beside the script
        shutil.copyfile(SCRIPT, self.script)
        self.store = store
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/files/"
        self.lines: list[str] = []
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> NodeTusServer:
        proc = subprocess.Popen(["node", str(self.script), str(self.port), str(self.store)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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

    def stored(self, url: str) -> Path:
        return self.store / url.rstrip("/").rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return _node_modules()


@pytest.fixture
def node_server(node_modules: Path, tmp_path: Path) -> Iterator[NodeTusServer]:
    server = NodeTusServer(node_modules, tmp_path / "tus-node").start()
    yield server
    server.stop()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_upload_lands_intact_and_checked_on_finish(
        tmp_path: Path, node_server: NodeTusServer, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 3 * MiB + 777)
    result = make_client(dev_config(), store).upload_file(
        src, node_server.url, meta, "clip", allowed_hosts=LOOPBACK)
    assert result.url.startswith(node_server.url) and result.attempts == 1
    assert _sha256(node_server.stored(result.url)) == meta.sha256 == result.sha256
    upload_id = result.url.rstrip("/").rsplit("/", 1)[1]
    assert f"finished {upload_id} sha256 {meta.sha256} ok" in node_server.lines
    assert store.load("clip") is None


def test_resumes_from_the_server_offset_after_the_server_is_killed(
        tmp_path: Path, node_server: NodeTusServer, make_client: Callable[..., TusClient]) -> None:
    """The server dies twice mid-upload; each time it comes back on the same port and store
    folder, and the device continues from the offset the restarted server reports."""
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 8 * MiB)
    kills_at = [2 * MiB, 5 * MiB]
    killed: list[int] = []
    restarts: list[int] = []

    def on_offset(offset: int) -> None:
        if kills_at and offset >= kills_at[0]:
            kills_at.pop(0)
            killed.append(offset)
            node_server.kill()  # the next call finds nobody listening

    def sleep(seconds: float) -> None:
        # The device's backoff wait is when the agency's server comes back.
        if node_server.proc is not None and node_server.proc.poll() is not None:
            restarts.append(len(killed))
            node_server.start()

    store = SqliteResumeStore(tmp_path / "state.db")
    client = make_client(dev_config(max_attempts=5), store, on_offset=on_offset, sleep=sleep)
    result = client.upload_file(src, node_server.url, meta, "clip", allowed_hosts=LOOPBACK)
    assert killed == [2 * MiB, 5 * MiB] and restarts == [1, 2]
    assert result.resumed_from == 2 * MiB  # the first HEAD after the first restart
    assert result.offset_regressions == 0
    assert _sha256(node_server.stored(result.url)) == meta.sha256
    assert sum(line.startswith("finished ") for line in node_server.lines) == 1


def test_resumes_inside_a_chunk_when_connections_are_cut(
        tmp_path: Path, node_server: NodeTusServer, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    """The file store keeps the part of a PATCH that arrived; the device asks (HEAD) and
    resends only the rest."""
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 6 * MiB)
    proxy = FaultProxy(node_server.port, budgets=itertools.repeat(700 * 1024))
    offsets: list[int] = []
    try:
        client = make_client(dev_config(max_attempts=5), store, on_offset=offsets.append)
        result = client.upload_file(src, f"http://127.0.0.1:{proxy.port}/files/", meta,
                                    "clip", allowed_hosts=LOOPBACK)
    finally:
        proxy.stop()
    assert proxy.cuts >= 8
    assert any(o % MiB for o in offsets), "no resume from inside a chunk"
    assert offsets == sorted(offsets) and offsets[-1] == 6 * MiB
    assert _sha256(node_server.stored(result.url)) == meta.sha256


def test_corrupted_upload_is_refused_by_the_finish_hook_and_sent_again(
        tmp_path: Path, node_server: NodeTusServer, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    """One byte flipped on the way: no chunk checksum catches it, the finish hook does; the
    corrupted upload is removed, the device finds it gone and sends the file again."""
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 2 * MiB + 5)
    proxy = FaultProxy(node_server.port, corrupt_at=MiB + 12345)
    try:
        result = make_client(dev_config(max_attempts=5), store).upload_file(
            src, f"http://127.0.0.1:{proxy.port}/files/", meta, "clip",
            allowed_hosts=LOOPBACK)
    finally:
        proxy.stop()
    assert proxy.corrupt_at is None, "the byte was not flipped"
    [refused] = [line for line in node_server.lines if line.startswith("refused ")]
    refused_id = refused.split()[1]
    assert not (node_server.store / refused_id).exists()
    assert result.attempts > 1 and refused_id not in result.url
    assert _sha256(node_server.stored(result.url)) == meta.sha256


def test_upload_without_a_digest_is_refused_at_creation(
        node_server: NodeTusServer) -> None:
    import requests

    resp = requests.post(node_server.url, headers={"Tus-Resumable": "1.0.0",
                                                   "Upload-Length": "5"}, timeout=10)
    assert resp.status_code == 400 and b"sha256" in resp.content
