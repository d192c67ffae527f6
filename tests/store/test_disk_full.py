"""ENOSPC during commit, on a real 1 MiB tmpfs: a clear StoreError, nothing else harmed."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from device.store import ClipStore, StoreFull
from tests.store.helpers import commit_bytes, meta, store_config


@pytest.fixture
def tiny_disk(make_tmpfs: Callable[[str], Path]) -> Path:
    return make_tmpfs("1m")


def fill_disk(path: Path, leave: int) -> None:
    """Write a filler file until fewer than `leave` bytes are free."""
    with open(path, "wb") as f, contextlib.suppress(OSError):
        while os.statvfs(path.parent).f_bavail * os.statvfs(path.parent).f_frsize > leave:
            f.write(b"\0" * 4096)
            f.flush()


def test_enospc_during_commit_is_a_clear_error_and_loses_nothing(tiny_disk: Path) -> None:
    store = ClipStore(store_config(tiny_disk / "store"))
    try:
        earlier = [commit_bytes(store, os.urandom(100_000)) for _ in range(2)]
        handle = store.begin()
        handle.tmp_path.write_bytes(os.urandom(200_000))
        fill_disk(tiny_disk / "filler", leave=8192)
        with pytest.raises(StoreFull, match="disk full while storing clip") as err:
            store.commit(handle, meta(thumb=os.urandom(64_000)))
        assert "\n" not in str(err.value) and isinstance(err.value, OSError)
        store.abort(handle)  # what the recorder does next: must not fail or touch anything
        assert list((store.root / "tmp").iterdir()) == []
        assert not store.thumbnail_path(handle.id).exists()
        assert {r.id for r in store.list()} == set(earlier)
        assert all(store.verify(i) for i in earlier)
        (tiny_disk / "filler").unlink()
        after = commit_bytes(store, os.urandom(50_000))
        assert store.verify(after) and store.totals()[0] == 3
    finally:
        store.close()


def test_the_recorder_filling_the_disk_then_aborting_leaves_earlier_clips(
        tiny_disk: Path) -> None:
    with ClipStore(store_config(tiny_disk / "store")) as store:
        earlier = commit_bytes(store, os.urandom(100_000))
        handle = store.begin()
        with pytest.raises(OSError) as err, open(handle.tmp_path, "wb") as f:
            while True:
                f.write(os.urandom(65_536))
                f.flush()
        assert err.value.errno == errno.ENOSPC
        store.abort(handle)
        assert list((store.root / "tmp").iterdir()) == [] and store.verify(earlier)
