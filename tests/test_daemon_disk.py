"""Disk faults under the daemon (real 6 MiB tmpfs): a full disk loses the clip being written,
not the daemon; recording resumes when space returns; retention never deletes held clips."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from config import StoreConfig
from device.store import ClipStore

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def small_disk(make_tmpfs: Callable[[str], Path]) -> Path:
    return make_tmpfs("6m")


def _clips(store: Path) -> set[str]:
    return {p.stem for p in (store / "clips").glob("*.mp4")}


def _wait(pred: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not pred():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_full_disk_and_retention_under_the_daemon(tmp_path: Path, small_disk: Path) -> None:
    store = small_disk / "store"
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text('[capture]\nsource = "synthetic:porch?size=320x240"\nloop = true\n'
                   f'[store]\npath = "{store}"\nmax_size_mb = 1\nmin_free_mb = 0\n',
                   encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                             "--speed", "6"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: len(_clips(store)) >= 1, 30, "a first clip")
        held = sorted(_clips(store))[0]
        with ClipStore(StoreConfig(path=str(store)), recover=False) as side:
            side.set_held(held, True)
        filler = small_disk / "filler"
        with open(filler, "wb") as f, contextlib.suppress(OSError):
            while os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize > 20_000:
                f.write(b"\0" * 8192)
                f.flush()
        time.sleep(6)  # clips fail to commit while the disk is full
        assert proc.poll() is None, "the daemon stopped on a full disk"
        filler.unlink()
        before = _clips(store)
        _wait(lambda: len(_clips(store) - before) >= 2, 40, "recording to resume")
        seen = set(_clips(store))

        def pruned() -> bool:
            now = _clips(store)
            seen.update(now)
            return bool(seen - now - {held})

        _wait(pruned, 60, "retention to delete an old unheld clip")
        assert held in _clips(store), "a held clip was pruned"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
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
    proc = subprocess.Popen([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                             "--speed", "6"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: len(_clips(store)) >= 1, 30, "a first clip")
        # A read-only mount stacked over the store: what the daemon opens from now on is
        # refused with EROFS (a plain remount,ro is refused while files are open for writing;
        # the kernel's own errors=remount-ro is not). Unmounting it is the repair.
        subprocess.run(["mount", "--bind", "-o", "ro", str(store), str(store)], check=True)
        kept = {p.name: p.read_bytes() for p in (store / "clips").glob("*.mp4")}
        time.sleep(8)  # clips come and fail to commit
        assert proc.poll() is None, "the daemon stopped on a read-only store"
        subprocess.run(["umount", str(store)], check=True)
        _wait(lambda: len(_clips(store)) >= len(kept) + 2 or proc.poll() is not None, 60,
              "recording to resume")
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        for name, data in kept.items():
            assert (store / "clips" / name).read_bytes() == data, f"{name} changed"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        subprocess.run(["umount", str(store)], check=False, capture_output=True)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "Read-only file system" in err or "readonly database" in err, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
