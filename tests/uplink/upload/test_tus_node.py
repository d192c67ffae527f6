"""Interop: the uploader against the official tus Node server (@tus/server + @tus/file-store)
from the npm registry, which checks the whole file's SHA-256 in its finish hook
(tests/tus_node/server.mjs): it has no checksum extension, so no chunk carries a checksum."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.uplink.upload.conftest import LOOPBACK, dev_config, upload_through, write_random
from tests.uplink.upload.netfaults import FaultProxy
from tests.uplink.upload.tus_node import NodeTusServer, node_modules, upload_id
from uplink.upload.resume import SqliteResumeStore
from uplink.upload.tus import TusClient

MiB = 1 << 20


class FileTusServer(NodeTusServer):
    """The Node server on @tus/file-store: each upload is one file in `store`."""

    def __init__(self, modules: Path, tmp_path: Path) -> None:
        self.store = tmp_path / "tus-node"
        super().__init__(modules, tmp_path / "node", ["file", str(self.store)])

    def stored(self, url: str) -> Path:
        return self.store / upload_id(url)


@pytest.fixture(scope="module")
def modules() -> Path:
    return node_modules()


@pytest.fixture
def node_server(modules: Path, tmp_path: Path) -> Iterator[FileTusServer]:
    server = FileTusServer(modules, tmp_path).start()
    yield server
    server.stop()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_upload_lands_intact_and_checked_on_finish(
        tmp_path: Path, node_server: FileTusServer, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 3 * MiB + 777)
    result = make_client(dev_config(), store).upload_file(
        src, node_server.url, meta, "clip", allowed_hosts=LOOPBACK)
    assert result.url.startswith(node_server.url) and result.attempts == 1
    assert _sha256(node_server.stored(result.url)) == meta.sha256 == result.sha256
    assert f"finished {upload_id(result.url)} sha256 {meta.sha256} ok" in node_server.lines
    assert store.load("clip") is None


def test_resumes_from_the_server_offset_after_the_server_is_killed(
        tmp_path: Path, node_server: FileTusServer, make_client: Callable[..., TusClient]) -> None:
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
        tmp_path: Path, node_server: FileTusServer, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    """The file store keeps the part of a PATCH that arrived; the device asks (HEAD) and
    resends only the rest."""
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 6 * MiB)
    proxy = FaultProxy(node_server.port, budgets=itertools.repeat(700 * 1024))
    offsets: list[int] = []
    result = upload_through(proxy, make_client(dev_config(max_attempts=5), store,
                                               on_offset=offsets.append), src, meta)
    assert proxy.cuts >= 8
    assert any(o % MiB for o in offsets), "no resume from inside a chunk"
    assert offsets == sorted(offsets) and offsets[-1] == 6 * MiB
    assert _sha256(node_server.stored(result.url)) == meta.sha256


def test_corrupted_upload_is_refused_by_the_finish_hook_and_sent_again(
        tmp_path: Path, node_server: FileTusServer, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    """One byte flipped on the way: no chunk checksum catches it, the finish hook does; the
    corrupted upload is removed, the device finds it gone and sends the file again."""
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 2 * MiB + 5)
    proxy = FaultProxy(node_server.port, corrupt_at=MiB + 12345)
    result = upload_through(proxy, make_client(dev_config(max_attempts=5), store), src, meta)
    assert proxy.corrupt_at is None, "the byte was not flipped"
    [refused] = [line for line in node_server.lines if line.startswith("refused ")]
    refused_id = refused.split()[1]
    assert not (node_server.store / refused_id).exists()
    assert result.attempts > 1 and refused_id not in result.url
    assert _sha256(node_server.stored(result.url)) == meta.sha256


def test_upload_without_a_digest_is_refused_at_creation(
        node_server: FileTusServer) -> None:
    import requests

    resp = requests.post(node_server.url, headers={"Tus-Resumable": "1.0.0",
                                                   "Upload-Length": "5"}, timeout=10)
    assert resp.status_code == 400 and b"sha256" in resp.content
