"""Resume through a proxy that keeps cutting the connection, and across a client restart."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.uplink.upload.conftest import LOOPBACK, dev_config, upload_through, write_random
from tests.uplink.upload.netfaults import FaultProxy
from uplink.agency.receiver import TusReceiver
from uplink.upload.resume import SqliteResumeStore
from uplink.upload.retry import UploadCancelled
from uplink.upload.tus import TusClient, UploadMetadata

MiB = 1 << 20
SIZE = 50 * MiB


def _port(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


@pytest.fixture(scope="module")
def big_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, UploadMetadata]:
    src = tmp_path_factory.mktemp("clips") / "clip.mp4"
    return src, write_random(src, SIZE)


@pytest.mark.parametrize("checksum, budget_kib", [
    (True, 2560),   # checksummed chunks are all-or-nothing: ~2 land per connection
    (False, 700),   # unchecked chunks keep what arrived: progress inside a chunk
])
def test_upload_survives_repeated_cuts(
        checksum: bool, budget_kib: int, tmp_path: Path, big_clip: tuple[Path, UploadMetadata],
        store: SqliteResumeStore, make_client: Callable[..., TusClient]) -> None:
    src, meta = big_clip
    rx = TusReceiver(tmp_path / "rx", checksum=checksum).start()
    proxy = FaultProxy(_port(rx.url), budgets=itertools.repeat(budget_kib * 1024))
    offsets: list[int] = []
    try:
        result = upload_through(proxy, make_client(dev_config(max_attempts=5), store,
                                                   on_offset=offsets.append), src, meta)
    finally:
        rx.stop()
    assert proxy.cuts >= 15 and result.attempts > proxy.cuts // 2
    [upload] = rx.completed().values()  # exactly one complete object
    assert len(rx.uploads) == 1
    assert upload.verified is True and upload.path.read_bytes() == src.read_bytes()
    assert offsets == sorted(offsets) and offsets[-1] == SIZE
    assert result.offset_regressions == 0
    assert store.load("clip") is None


def test_restarted_client_resumes_instead_of_restarting(
        tmp_path: Path, big_clip: tuple[Path, UploadMetadata], receiver: TusReceiver,
        make_client: Callable[..., TusClient]) -> None:
    src, meta = big_clip
    db = tmp_path / "state.db"
    proxy = FaultProxy(_port(receiver.url), budgets=itertools.repeat(3 * MiB))
    url = f"http://127.0.0.1:{proxy.port}/files/"
    stop = threading.Event()

    def halfway(offset: int) -> None:
        if offset >= 20 * MiB:
            stop.set()  # the daemon is stopped mid-upload

    try:
        first = make_client(dev_config(), SqliteResumeStore(db), on_offset=halfway)
        with pytest.raises(UploadCancelled):
            first.upload_file(src, url, meta, "clip", allowed_hosts=LOOPBACK,
                              cancel=stop)
        log_mark = len(receiver.log)
        assert receiver.completed() == {}

        second = make_client(dev_config(), SqliteResumeStore(db))
        result = second.upload_file(src, url, meta, "clip",
                                    allowed_hosts=LOOPBACK)
    finally:
        proxy.stop()
    after = receiver.log[log_mark:]
    first_patch = next(r for r in after if r.method == "PATCH")
    assert int(first_patch.headers["Upload-Offset"]) >= 20 * MiB
    assert "POST" not in [r.method for r in after]
    assert result.resumed_from >= 20 * MiB
    assert receiver.patch_bytes < 2 * SIZE
    [upload] = receiver.completed().values()
    assert upload.verified is True and upload.path.read_bytes() == src.read_bytes()
