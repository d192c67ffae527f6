"""Uploads to the reference receiver: bytes arrive intact, checksums are checked, TLS verified."""

from __future__ import annotations

import base64
import hashlib
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from tests.uplink.upload.conftest import LOOPBACK, dev_config, stop_when, write_random
from tests.uplink.upload.netfaults import FaultProxy
from uplink.agency.receiver import TusReceiver, parse_metadata
from uplink.errors import DestinationRefused, PermanentUploadError
from uplink.upload.resume import ResumeState, SqliteResumeStore
from uplink.upload.retry import UploadCancelled
from uplink.upload.tus import TusClient, UploadMetadata

MiB = 1 << 20


def test_upload_arrives_byte_identical(tmp_path: Path, receiver: TusReceiver,
                                       store: SqliteResumeStore,
                                       make_client: Callable[..., TusClient]) -> None:
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 2 * MiB + 12345)
    result = make_client(dev_config(), store).upload_file(
        src, receiver.url, meta, "clip-42", allowed_hosts=LOOPBACK)

    [(upload_id, upload)] = receiver.completed().items()
    assert upload.path.read_bytes() == src.read_bytes()
    assert upload.verified is True
    assert result.sha256 == meta.sha256 == hashlib.sha256(upload.path.read_bytes()).hexdigest()
    assert result.url == receiver.url + upload_id  # the relative Location, resolved
    assert (result.size, result.attempts, result.resumed_from) == (src.stat().st_size, 1, 0)
    assert upload.metadata == {"filename": "clip.mp4", "filetype": "video/mp4",
                               "sha256": meta.sha256,
                               "request_id": "req-7", "clip_id": "clip-42"}
    assert [r.method for r in receiver.log] == ["OPTIONS", "POST", "PATCH", "PATCH", "PATCH"]
    chunk = src.read_bytes()[:MiB]
    first_patch = receiver.log[2].headers
    assert first_patch["Upload-Checksum"] == (
        "sha256 " + base64.b64encode(hashlib.sha256(chunk).digest()).decode())
    assert first_patch["Content-Type"] == "application/offset+octet-stream"
    assert store.load("clip-42") is None  # done uploads leave no resume state


def test_empty_file_is_created_without_patch(tmp_path: Path, receiver: TusReceiver,
                                            store: SqliteResumeStore,
                                            make_client: Callable[..., TusClient]) -> None:
    src = tmp_path / "empty.mp4"
    meta = write_random(src, 0)
    make_client(dev_config(), store).upload_file(src, receiver.url, meta, "k",
                                                 allowed_hosts=LOOPBACK)
    assert [u.verified for u in receiver.completed().values()] == [True]
    assert "PATCH" not in [r.method for r in receiver.log]


def test_corrupted_chunk_gets_460_and_is_resent(tmp_path: Path, receiver: TusReceiver,
                                                store: SqliteResumeStore,
                                                make_client: Callable[..., TusClient]) -> None:
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 3 * MiB)
    # Flip one byte well inside the second PATCH body (after OPTIONS, POST, first PATCH).
    proxy = FaultProxy(int(receiver.url.split(":")[2].split("/")[0]),
                       corrupt_at=MiB + 200_000)
    try:
        url = f"http://127.0.0.1:{proxy.port}/files/"
        result = make_client(dev_config(), store).upload_file(
            src, url, meta, "k", allowed_hosts=LOOPBACK)
    finally:
        proxy.stop()
    [upload] = receiver.completed().values()
    assert upload.path.read_bytes() == src.read_bytes()
    assert [r.method for r in receiver.log].count("PATCH") == 4  # 3 chunks + 1 resent
    assert result.attempts == 2


def test_server_that_forgot_the_upload_gets_a_new_one(
        tmp_path: Path, receiver: TusReceiver, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 3 * MiB)
    stop = threading.Event()
    first = make_client(dev_config(), store, on_offset=stop_when(stop, MiB))
    with pytest.raises(UploadCancelled):
        first.upload_file(src, receiver.url, meta, "k", allowed_hosts=LOOPBACK, cancel=stop)
    saved = store.load("k")
    assert saved is not None and saved.offset == MiB
    receiver.expire(saved.url.rsplit("/", 1)[1])

    result = make_client(dev_config(), store).upload_file(
        src, receiver.url, meta, "k", allowed_hosts=LOOPBACK)
    assert result.resumed_from == 0 and result.url != saved.url
    assert [u.path.read_bytes() == src.read_bytes() for u in receiver.completed().values()] == [
        True]
    assert [r.method for r in receiver.log].count("POST") == 2


def test_lower_server_offset_is_trusted_and_recorded(
        tmp_path: Path, receiver: TusReceiver, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 4 * MiB)
    stop = threading.Event()
    first = make_client(dev_config(), store, on_offset=stop_when(stop, MiB))
    with pytest.raises(UploadCancelled):
        first.upload_file(src, receiver.url, meta, "k", allowed_hosts=LOOPBACK, cancel=stop)
    saved = store.load("k")
    assert saved is not None
    store.save("k", ResumeState(saved.url, 3 * MiB, saved.sha256, saved.size))  # we "thought"

    result = make_client(dev_config(), store).upload_file(
        src, receiver.url, meta, "k", allowed_hosts=LOOPBACK)
    assert (result.resumed_from, result.offset_regressions) == (MiB, 1)
    [upload] = receiver.completed().values()
    assert upload.path.read_bytes() == src.read_bytes()


def test_hash_mismatch_sends_nothing(tmp_path: Path, receiver: TusReceiver,
                                     store: SqliteResumeStore,
                                     make_client: Callable[..., TusClient]) -> None:
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 1000)
    src.write_bytes(b"tampered" + src.read_bytes()[8:])
    with pytest.raises(PermanentUploadError, match="does not match"):
        make_client(dev_config(), store).upload_file(src, receiver.url, meta, "k",
                                                     allowed_hosts=LOOPBACK)
    assert receiver.connections == 0


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_receiver(tmp_path: Path, ca: trustme.CA) -> Iterator[TusReceiver]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(ctx)
    rx = TusReceiver(tmp_path / "tls", ssl_context=ctx).start()
    yield rx
    rx.stop()


def test_https_upload_with_verified_certificate(
        tmp_path: Path, tls_receiver: TusReceiver, ca: trustme.CA, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    src = tmp_path / "clip.mp4"
    meta = write_random(src, MiB + 1)
    with ca.cert_pem.tempfile() as bundle:
        cfg = dev_config(allow_insecure_loopback=False)
        make_client(cfg, store, ca_bundle=bundle).upload_file(
            src, tls_receiver.url, meta, "k", allowed_hosts=LOOPBACK)
    assert tls_receiver.url.startswith("https://")
    [upload] = tls_receiver.completed().values()
    assert upload.path.read_bytes() == src.read_bytes()


def test_untrusted_certificate_is_refused_before_any_request(
        tmp_path: Path, tls_receiver: TusReceiver, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 1000)
    client = make_client(dev_config(allow_insecure_loopback=False), store)
    with pytest.raises(DestinationRefused, match="certificate"):
        client.upload_file(src, tls_receiver.url, meta, "k", allowed_hosts=LOOPBACK)
    assert tls_receiver.connections >= 1 and tls_receiver.log == []  # handshake only


def test_metadata_header_round_trips() -> None:
    meta = UploadMetadata("porch, 7:02.mp4", "AB" * 32, "r é", "c")
    assert parse_metadata(meta.header()) == {
        "filename": "porch, 7:02.mp4", "filetype": "video/mp4", "sha256": "ab" * 32,
        "request_id": "r é",
        "clip_id": "c"}
    assert meta.header().count(",") == 4  # the comma in the filename is inside base64
