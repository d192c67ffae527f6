"""Interop: the uploader against an independent tus server (tuspyserver on uvicorn)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import fastapi
import pytest
import tuspyserver
import uvicorn

from tests.uplink.upload.conftest import LOOPBACK, dev_config, stop_when, write_random
from uplink.upload.resume import SqliteResumeStore
from uplink.upload.retry import UploadCancelled
from uplink.upload.tus import TusClient


@pytest.fixture
def tus_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    files = tmp_path / "tuspy"
    files.mkdir()
    app = fastapi.FastAPI()
    app.include_router(tuspyserver.create_tus_router(prefix="files", files_dir=str(files)))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/files/", files
    server.should_exit = True
    thread.join(10)


def test_upload_to_tuspyserver(tmp_path: Path, tus_server: tuple[str, Path],
                               store: SqliteResumeStore,
                               make_client: Callable[..., TusClient]) -> None:
    url, files = tus_server
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 3 * (1 << 20) + 777)
    result = make_client(dev_config(), store).upload_file(
        src, url, meta, "clip", allowed_hosts=LOOPBACK)
    upload_id = result.url.rstrip("/").rsplit("/", 1)[1]
    assert result.url.startswith(url)
    stored = files / upload_id
    assert stored.read_bytes() == src.read_bytes()
    assert result.sha256 == meta.sha256 and result.attempts == 1


def test_resume_against_tuspyserver(tmp_path: Path, tus_server: tuple[str, Path],
                                    store: SqliteResumeStore,
                                    make_client: Callable[..., TusClient]) -> None:
    url, files = tus_server
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 4 * (1 << 20))
    stop = threading.Event()
    first = make_client(dev_config(), store,
                        on_offset=stop_when(stop, 2 << 20))
    with pytest.raises(UploadCancelled):
        first.upload_file(src, url, meta, "clip", allowed_hosts=LOOPBACK, cancel=stop)
    result = make_client(dev_config(), store).upload_file(
        src, url, meta, "clip", allowed_hosts=LOOPBACK)
    assert result.resumed_from == 2 << 20
    upload_id = result.url.rstrip("/").rsplit("/", 1)[1]
    assert (files / upload_id).read_bytes() == src.read_bytes()
