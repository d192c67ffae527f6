"""Fixtures for uploader tests: a real receiver, real files, real clients, recorded sleeps."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from config.upload import UploadConfig
from tests.uplink.upload.netfaults import FaultProxy, ScriptedServer
from uplink.agency.receiver import TusReceiver
from uplink.upload.resume import SqliteResumeStore
from uplink.upload.transport import RequestsTransport
from uplink.upload.tus import TusClient, UploadMetadata, UploadResult

LOOPBACK = frozenset({"127.0.0.1"})


def dev_config(**overrides: Any) -> UploadConfig:
    """Loopback http allowed, 1 MiB chunks, short deadlines; tests pass what they vary."""
    base = UploadConfig(allow_insecure_loopback=True, chunk_mb=1, call_deadline_s=20.0,
                        connect_timeout_s=5.0, read_timeout_s=10.0, backoff_base_s=0.01,
                        backoff_max_s=300.0)
    return dataclasses.replace(base, **overrides)


def write_random(path: Path, size: int) -> UploadMetadata:
    """A file of `size` random bytes, and metadata carrying its true hash."""
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return UploadMetadata(path.name, digest, "req-7", "clip-42")


def upload_through(proxy: FaultProxy, client: TusClient, src: Path,
                   meta: UploadMetadata) -> UploadResult:
    """Upload `src` as the device does, through `proxy` (stopped afterwards)."""
    try:
        return client.upload_file(src, f"http://127.0.0.1:{proxy.port}/files/", meta, "clip",
                                  allowed_hosts=LOOPBACK)
    finally:
        proxy.stop()


def stop_when(event: threading.Event, offset: int) -> Callable[[int], None]:
    """An `on_offset` hook that cancels the upload once `offset` bytes are confirmed."""
    def hook(confirmed: int) -> None:
        if confirmed >= offset:
            event.set()
    return hook


class Sleeps(list[float]):
    """An injected sleep that records how long it was asked to wait, and does not wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[TusReceiver]:
    rx = TusReceiver(tmp_path / "received").start()
    yield rx
    rx.stop()


@pytest.fixture
def store(tmp_path: Path) -> SqliteResumeStore:
    return SqliteResumeStore(tmp_path / "uplink.db")


@pytest.fixture
def make_client() -> Iterator[Callable[..., TusClient]]:
    """Factory for clients on real RequestsTransports, all closed at the end."""
    transports: list[RequestsTransport] = []

    def make(cfg: UploadConfig, store: SqliteResumeStore, *, ca_bundle: str | None = None,
             **kwargs: Any) -> TusClient:
        transport = RequestsTransport(cfg, ca_bundle=ca_bundle)
        transports.append(transport)
        kwargs.setdefault("sleep", Sleeps())
        return TusClient(transport, cfg, store, **kwargs)

    yield make
    for t in transports:
        t.close()


@pytest.fixture
def make_scripted() -> Iterator[Callable[..., ScriptedServer]]:
    made: list[ScriptedServer] = []

    def make(script: Any) -> ScriptedServer:
        server = ScriptedServer(script)
        made.append(server)
        return server

    yield make
    for s in made:
        s.stop()
