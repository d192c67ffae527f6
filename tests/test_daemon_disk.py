"""Disk faults under the daemon (real 6 MiB tmpfs): a full disk loses the clip being written,
not the daemon; recording resumes when space returns; retention never deletes held clips."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from config import StoreConfig
from device.store import ClipStore
from tests.daemon_proc import DaemonRun
from tests.support import wait_until

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def small_disk(make_tmpfs: Callable[[str], Path]) -> Path:
    return make_tmpfs("6m")


def _clips(store: Path) -> set[str]:
    return {p.stem for p in (store / "clips").glob("*.mp4")}


def test_full_disk_and_retention_under_the_daemon(tmp_path: Path, small_disk: Path) -> None:
    store = small_disk / "store"
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text('[capture]\nsource = "synthetic:porch?size=320x240"\nloop = true\n'
                   f'[store]\npath = "{store}"\nmax_size_mb = 1\nmin_free_mb = 0\n',
                   encoding="utf-8")
    daemon = DaemonRun(cfg, speed="6")
    try:
        daemon.wait_for_line("clip stored", 60)
        held = sorted(_clips(store))[0]
        with ClipStore(StoreConfig(path=str(store)), recover=False) as side:
            side.set_held(held, True)
        filler = small_disk / "filler"
        with open(filler, "wb") as f, contextlib.suppress(OSError):
            while os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize > 20_000:
                f.write(b"\0" * 8192)
                f.flush()
        daemon.wait_for_line("No space left on device", 60)  # a clip failed to commit
        assert daemon.running(), "the daemon stopped on a full disk"
        filler.unlink()
        before = _clips(store)
        wait_until(lambda: len(_clips(store) - before) >= 2, 60, "recording to resume")
        seen = set(_clips(store))

        def pruned() -> bool:
            now = _clips(store)
            seen.update(now)
            return bool(seen - now - {held})

        wait_until(pruned, 60, "retention to delete an old unheld clip")
        assert held in _clips(store), "a held clip was pruned"
        code = daemon.stop()
    finally:
        daemon.kill()
    err = daemon.stderr
    assert code == 0, err[-3000:]
    assert "recording failed" in err and "No space left on device" in err, err[-3000:]
    assert "retention: deleted clip" in err
    assert "Traceback" not in err


def test_a_read_only_remount_does_not_stop_the_daemon_nor_lose_clips(
        tmp_path: Path, make_tmpfs: Callable[[str], Path]) -> None:
    disk = make_tmpfs("32m")
    store = disk / "store"
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text('[capture]\nsource = "synthetic:porch?size=320x240"\nloop = true\n'
                   f'[store]\npath = "{store}"\nmin_free_mb = 0\n', encoding="utf-8")
    daemon = DaemonRun(cfg, speed="6")
    try:
        daemon.wait_for_line("clip stored", 60)
        # A read-only mount stacked over the store: what the daemon opens from now on is
        # refused with EROFS (a plain remount,ro is refused while files are open for writing;
        # the kernel's own errors=remount-ro is not). Unmounting it is the repair.
        subprocess.run(["mount", "--bind", "-o", "ro", str(store), str(store)], check=True)
        kept = {p.name: p.read_bytes() for p in (store / "clips").glob("*.mp4")}
        mark = daemon.line_count()
        daemon.wait_for_line("recording failed", 60, after=mark)  # a clip failed to commit
        assert daemon.running(), "the daemon stopped on a read-only store"
        subprocess.run(["umount", str(store)], check=True)
        wait_until(lambda: len(_clips(store)) >= len(kept) + 2 or not daemon.running(), 60,
                   "recording to resume")
        assert daemon.running(), daemon.stderr[-3000:]
        for name, data in kept.items():
            assert (store / "clips" / name).read_bytes() == data, f"{name} changed"
        code = daemon.stop()
    finally:
        subprocess.run(["umount", str(store)], check=False, capture_output=True)
        daemon.kill()
    err = daemon.stderr
    assert code == 0, err[-3000:]
    assert "Read-only file system" in err or "readonly database" in err, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
