"""Interop: the uploader against the official tus Node server on object storage
(@tus/server + @tus/s3-store, tests/tus_node/server.mjs) with a local S3-compatible server.

The S3 server is moto's (moto.server, in its own process, data in memory): it implements what
the s3 store uses faithfully, multipart uploads with ListParts, AbortMultipartUpload and the
5 MiB minimum for every part but the last (EntityTooSmall on completion; checked below, as
the precondition of these tests). s3rver (npm, 3.7.1) has no ListParts (which the store calls
on every request) or AbortMultipartUpload and no part minimum; MinIO is a binary download."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.broker import free_port
from tests.support import require, wait_until
from tests.uplink.upload.conftest import LOOPBACK, dev_config, upload_through, write_random
from tests.uplink.upload.netfaults import FaultProxy
from tests.uplink.upload.tus_node import NodeTusServer, node_modules, upload_id
from uplink.upload.resume import SqliteResumeStore
from uplink.upload.tus import TusClient

MiB = 1 << 20
REGION = "us-east-1"
# The server's credentials, as an agency passes them: in the AWS SDK's environment variables.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "doorcam-test", "AWS_SECRET_ACCESS_KEY": "doorcam-test",
               "AWS_REGION": REGION}
_buckets = itertools.count()


class LocalS3:
    """moto's S3-compatible server as a child process on a free loopback port; `lines` holds
    its request log (one line per S3 call)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: any(f"Running on {self.endpoint}" in ln for ln in self.lines)
                   or self.proc.poll() is not None, 30, "the local S3 server to listen")
        assert self.proc.poll() is None, "\n".join(self.lines)
        import boto3

        self.client: Any = boto3.client(
            "s3", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class S3TusServer(NodeTusServer):
    """The Node server on @tus/s3-store, writing into its own bucket of the local S3."""

    def __init__(self, modules: Path, tmp_path: Path, s3: LocalS3) -> None:
        self.s3 = s3
        self.bucket = f"evidence-{next(_buckets)}"
        s3.client.create_bucket(Bucket=self.bucket)
        super().__init__(modules, tmp_path / "node", ["s3", self.bucket, s3.endpoint],
                         env=CREDENTIALS)

    def keys(self) -> set[str]:
        listing = self.s3.client.list_objects_v2(Bucket=self.bucket)
        return {o["Key"] for o in listing.get("Contents", [])}

    def open_multipart_uploads(self) -> list[str]:
        listing = self.s3.client.list_multipart_uploads(Bucket=self.bucket)
        return [u["Key"] for u in listing.get("Uploads", [])]

    def object_sha256(self, key: str) -> str:
        body = self.s3.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        digest = hashlib.sha256()
        for chunk in body.iter_chunks(1 << 20):
            digest.update(chunk)
        return digest.hexdigest()

    def in_progress(self) -> tuple[list[int], int | None]:
        """The one unfinished upload in the bucket: the sizes of its multipart upload's parts,
        and of the incomplete part the store keeps as an object of its own (None: none)."""
        [upload] = self.s3.client.list_multipart_uploads(Bucket=self.bucket)["Uploads"]
        key = upload["Key"]
        listing = self.s3.client.list_parts(Bucket=self.bucket, Key=key,
                                            UploadId=upload["UploadId"])
        incomplete = (self.s3.client.head_object(Bucket=self.bucket, Key=f"{key}.part")
                      ["ContentLength"] if f"{key}.part" in self.keys() else None)
        return [p["Size"] for p in listing.get("Parts", [])], incomplete

    def parts(self, key: str) -> list[int]:
        """The sizes of the parts the object was completed from."""
        first = self.s3.client.head_object(Bucket=self.bucket, Key=key, PartNumber=1)
        count = first.get("PartsCount", 1)
        return [first["ContentLength"]] + [
            self.s3.client.head_object(Bucket=self.bucket, Key=key,
                                       PartNumber=n)["ContentLength"]
            for n in range(2, count + 1)]


@pytest.fixture(scope="module")
def modules() -> Path:
    return node_modules()


@pytest.fixture(scope="module")
def s3() -> Iterator[LocalS3]:
    require(importlib.util.find_spec("moto") and importlib.util.find_spec("flask_cors"),
            "moto[s3], flask and flask-cors not installed (pip install -e '.[test]'); "
            "the tus S3 interop needs them")
    server = LocalS3()
    yield server
    server.stop()


@pytest.fixture
def node_server(modules: Path, tmp_path: Path, s3: LocalS3) -> Iterator[S3TusServer]:
    server = S3TusServer(modules, tmp_path, s3).start()
    yield server
    server.stop()


def test_the_local_s3_refuses_parts_under_5_mib_but_the_last(s3: LocalS3) -> None:
    s3.client.create_bucket(Bucket="minimum")
    small = s3.client.create_multipart_upload(Bucket="minimum", Key="k")["UploadId"]
    etags = [s3.client.upload_part(Bucket="minimum", Key="k", UploadId=small, PartNumber=n,
                                   Body=b"x" * MiB)["ETag"] for n in (1, 2)]
    with pytest.raises(s3.client.exceptions.ClientError, match="EntityTooSmall"):
        s3.client.complete_multipart_upload(
            Bucket="minimum", Key="k", UploadId=small, MultipartUpload={"Parts": [
                {"ETag": e, "PartNumber": n} for n, e in enumerate(etags, 1)]})


def test_upload_larger_than_a_part_lands_in_the_bucket_byte_exact(
        tmp_path: Path, node_server: S3TusServer, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    """In the device's default 4 MiB chunks: the first waits in the bucket as the upload's
    incomplete part, the second completes an 8 MiB part with it, the last is the final part;
    the finish hook hashes the completed object as it streams back from S3."""
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 11 * MiB + 777)
    result = make_client(dev_config(chunk_mb=4), store).upload_file(
        src, node_server.url, meta, "clip", allowed_hosts=LOOPBACK)
    key = upload_id(result.url)
    assert result.url.startswith(node_server.url) and result.attempts == 1
    read_back = [ln for ln in node_server.s3.lines
                 if f"GET /{node_server.bucket}/{key}?x-id=GetObject " in ln]
    assert len(read_back) == 1, "the finish hook did not read the object from S3"
    assert f"finished {key} sha256 {meta.sha256} ok" in node_server.lines
    assert node_server.parts(key) == [8 * MiB, 3 * MiB + 777]
    assert node_server.object_sha256(key) == meta.sha256 == result.sha256
    # Evidence is read from the bucket, not through the tus server, and stays there.
    tus = {"Tus-Resumable": "1.0.0"}
    assert requests.get(result.url, headers=tus, timeout=10).status_code == 404
    assert requests.delete(result.url, headers=tus, timeout=10).status_code == 400
    # The info object stays beside the upload; no incomplete part or multipart upload is left.
    assert node_server.keys() == {key, f"{key}.info"}
    assert node_server.open_multipart_uploads() == []
    assert store.load("clip") is None


def test_resumes_from_what_the_bucket_holds_after_the_server_is_killed(
        tmp_path: Path, node_server: S3TusServer, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    """In 4 MiB chunks: killed once while the bucket holds only an incomplete part, once
    when it holds only a completed part; each restarted server knows nothing but the bucket,
    and the device continues from the offset it finds there."""
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 9 * MiB + 3)
    kills_at = [4 * MiB, 8 * MiB]
    killed: list[int] = []
    held: list[tuple[list[int], int | None]] = []
    restarts: list[int] = []

    def on_offset(offset: int) -> None:
        if kills_at and offset >= kills_at[0]:
            kills_at.pop(0)
            killed.append(offset)
            node_server.kill()  # the next call finds nobody listening
            held.append(node_server.in_progress())

    def sleep(seconds: float) -> None:
        if node_server.proc is not None and node_server.proc.poll() is not None:
            restarts.append(len(killed))
            node_server.start()

    client = make_client(dev_config(chunk_mb=4, max_attempts=5), store, on_offset=on_offset,
                         sleep=sleep)
    result = client.upload_file(src, node_server.url, meta, "clip", allowed_hosts=LOOPBACK)
    key = upload_id(result.url)
    assert killed == [4 * MiB, 8 * MiB] and restarts == [1, 2]
    assert held == [([], 4 * MiB), ([8 * MiB], None)]
    assert result.resumed_from == 4 * MiB and result.offset_regressions == 0
    assert node_server.parts(key) == [8 * MiB, MiB + 3]
    assert node_server.object_sha256(key) == meta.sha256
    assert sum(ln.startswith("finished ") for ln in node_server.lines) == 1


def test_a_cut_connection_keeps_what_arrived_in_the_incomplete_part(
        tmp_path: Path, node_server: S3TusServer, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    """The server keeps the part of a PATCH that arrived before the cut (as the incomplete
    part); the device asks (HEAD) and resends only the rest."""
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 3 * MiB)
    proxy = FaultProxy(node_server.port, budgets=itertools.repeat(700 * 1024))
    offsets: list[int] = []
    result = upload_through(proxy, make_client(dev_config(max_attempts=5), store,
                                               on_offset=offsets.append), src, meta)
    assert proxy.cuts >= 4 and result.offset_regressions == 0
    assert any(o % MiB for o in offsets), "no resume from inside a chunk"
    assert offsets == sorted(offsets) and offsets[-1] == 3 * MiB
    assert node_server.object_sha256(upload_id(result.url)) == meta.sha256


def test_server_killed_mid_request_loses_the_incomplete_part_and_the_device_resends(
        tmp_path: Path, node_server: S3TusServer, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    """The s3 store takes the incomplete part out of the bucket when a PATCH starts and puts
    it back, longer, when the PATCH ends: killed in between, the server loses bytes it had
    confirmed. The device finds the lower offset (HEAD) and sends from there."""
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 4 * MiB + 9)
    # Half of the second 2 MiB PATCH gets through; the bucket held the first as one object.
    proxy = FaultProxy(node_server.port, hold_at=3 * MiB)
    offsets: list[int] = []
    lost: list[tuple[list[int], int | None]] = []
    part = f"/{node_server.bucket}/"

    def kill_when_the_incomplete_part_is_out() -> None:
        proxy.holding.wait()
        wait_until(lambda: sum(part in ln and ".part?x-id=DeleteObject" in ln
                               for ln in node_server.s3.lines) == 1,
                   30, "the store to take the incomplete part out of the bucket")
        lost.append(node_server.in_progress())
        node_server.kill()
        proxy.release.set()

    def sleep(seconds: float) -> None:
        if node_server.proc is not None and node_server.proc.poll() is not None:
            node_server.start()

    killer = threading.Thread(target=kill_when_the_incomplete_part_is_out, daemon=True)
    killer.start()
    try:
        result = upload_through(proxy, make_client(dev_config(chunk_mb=2, max_attempts=5), store,
                                                   on_offset=offsets.append, sleep=sleep),
                                src, meta)
    finally:
        killer.join(10)
    assert lost == [([], None)], "the bucket still held what the server had confirmed"
    assert offsets[:3] == [0, 2 * MiB, 0]
    assert result.offset_regressions == 1
    key = upload_id(result.url)
    assert node_server.object_sha256(key) == meta.sha256
    assert sum(ln.startswith("finished ") for ln in node_server.lines) == 1


def test_wrong_checksum_is_refused_and_the_object_deleted(
        tmp_path: Path, node_server: S3TusServer, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    """One byte flipped on the way: the finish hook finds the completed object's SHA-256
    wrong, deletes it and its info object, and the device, finding the upload gone, sends the
    file again."""
    src = tmp_path / "clip.mp4"
    meta = write_random(src, 2 * MiB + 5)
    proxy = FaultProxy(node_server.port, corrupt_at=MiB + 12345)
    result = upload_through(proxy, make_client(dev_config(max_attempts=5), store), src, meta)
    assert proxy.corrupt_at is None, "the byte was not flipped"
    [refused] = [ln for ln in node_server.lines if ln.startswith("refused ")]
    refused_id = refused.split()[1]
    assert refused_id != upload_id(result.url) and result.attempts > 1
    key = upload_id(result.url)
    assert node_server.keys() == {key, f"{key}.info"}, "the refused upload was not deleted"
    assert node_server.open_multipart_uploads() == []
    assert node_server.object_sha256(key) == meta.sha256
