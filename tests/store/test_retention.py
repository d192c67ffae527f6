"""Retention: age, size quota and free space; oldest first; held clips never removed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from device.store import ClipStore
from device.store.retention import MB
from tests.store.helpers import commit_bytes, store_config

DAY = 86_400.0
T0 = 1_700_000_000.0


@dataclass
class FakeDiskUsage:
    """Test double for shutil.disk_usage: a disk whose free space the test sets."""

    free: int

    def __call__(self, path: Path) -> FakeDiskUsage:
        return self


def open_store(root: Path, disk: FakeDiskUsage | None = None, **limits: float) -> ClipStore:
    if disk is None:
        return ClipStore(store_config(root, **limits))
    return ClipStore(store_config(root, **limits), disk_usage=disk)


def fill(store: ClipStore, sizes: list[int], start: float = T0) -> list[str]:
    """Commit clips of the given sizes one minute apart; ids oldest first."""
    return [commit_bytes(store, b"\0" * size, start_wall=start + 60 * i)
            for i, size in enumerate(sizes)]


def remaining(store: ClipStore) -> set[str]:
    return {r.id for r in store.list()}


def test_clips_older_than_max_age_go(root: Path) -> None:
    with open_store(root, max_age_days=2) as store:
        old = fill(store, [100, 100], start=T0)
        new = fill(store, [100], start=T0 + 2 * DAY)
        removed = store.prune(now=T0 + 2 * DAY + 61)
        assert removed == old
        assert remaining(store) == set(new)
        assert not any(store.clip_path(i).exists() or store.thumbnail_path(i).exists()
                       for i in old)


def test_the_size_quota_removes_oldest_first(root: Path) -> None:
    with open_store(root, max_size_mb=1) as store:
        ids = fill(store, [400_000, 400_000, 400_000, 400_000])
        assert store.prune(now=T0) == ids[:2]
        assert store.totals() == (2, 800_000)
        assert store.prune(now=T0) == []


def test_low_free_space_removes_oldest_until_enough_is_free(root: Path) -> None:
    disk = FakeDiskUsage(free=10 * MB)
    with open_store(root, disk, min_free_mb=10) as store:
        ids = fill(store, [300_000, 300_000, 300_000, 300_000])
        assert store.prune(now=T0) == [] and store.free_space_check()
        disk.free = 10 * MB - 500_000
        assert not store.free_space_check()
        assert store.prune(now=T0) == ids[:2]
        assert remaining(store) == set(ids[2:])


def test_free_space_check_counts_the_reserve(root: Path) -> None:
    with open_store(root, FakeDiskUsage(free=12 * MB), min_free_mb=10) as store:
        assert store.free_space_check(reserve_bytes=2 * MB)
        assert not store.free_space_check(reserve_bytes=2 * MB + 1)


def test_held_clips_survive_every_limit(root: Path, caplog: pytest.LogCaptureFixture) -> None:
    disk = FakeDiskUsage(free=0)
    with open_store(root, disk, max_age_days=1, max_size_mb=1, min_free_mb=1) as store:
        ids = fill(store, [600_000, 600_000, 600_000])
        store.set_held(ids[0], True)
        store.set_held(ids[2], True)
        assert store.prune(now=T0 + 10 * DAY) == [ids[1]]
        assert remaining(store) == {ids[0], ids[2]}
        assert store.prune(now=T0 + 10 * DAY) == []
        assert store.verify(ids[0]) and store.verify(ids[2])
    assert "limits still not met" in caplog.text


def test_held_bytes_count_towards_the_quota(root: Path) -> None:
    with open_store(root, max_size_mb=1) as store:
        held, *others = fill(store, [700_000, 200_000, 200_000])
        store.set_held(held, True)
        assert store.prune(now=T0) == others[:1]


def test_zero_limits_keep_everything(root: Path) -> None:
    with open_store(root, FakeDiskUsage(free=0)) as store:
        ids = fill(store, [500_000, 500_000], start=0.0)
        assert store.prune(now=T0 + 3650 * DAY) == []
        assert remaining(store) == set(ids)


def test_pruned_clips_stay_gone_after_reopening(root: Path) -> None:
    with open_store(root, max_size_mb=1) as store:
        ids = fill(store, [600_000, 600_000])
        assert store.prune(now=T0) == ids[:1]
    with open_store(root) as again:
        assert not again.recovery.changed and remaining(again) == {ids[1]}
        assert not (root / "orphans").exists()
