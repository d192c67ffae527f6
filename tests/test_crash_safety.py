"""SIGKILL `doorcam simulate` at random moments; the store must stay consistent."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from capture.media.decode import probe_clip
from config import StoreConfig
from device.store import ClipStore

REPO = Path(__file__).resolve().parent.parent
KILLS = int(os.environ.get("DOORCAM_CRASH_KILLS", "24"))  # more for a deeper run

CONFIG = """
[recording]
pre_roll_seconds = 1.0
keyframe_interval_seconds = 0.5
post_roll_seconds = 0.3
max_clip_seconds = 2.0
preset = "ultrafast"
[store]
max_age_days = 0
max_size_mb = 0
min_free_mb = 0
"""


def _check_store(root: Path, decoded: set[str]) -> int:
    store = ClipStore(StoreConfig(path=str(root)))  # opening reconciles
    try:
        records = store.list()
        for rec in records:
            path = store.clip_path(rec.id)
            assert path.exists(), f"indexed clip {rec.id} has no file"
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            assert digest == rec.sha256, f"clip {rec.id}: SHA-256 mismatch"
            if rec.id in decoded:
                continue  # same bytes as when it last decoded (the hash says so)
            probe = probe_clip(path)
            assert probe.frames == rec.frames, f"clip {rec.id}: {probe.frames} != {rec.frames}"
            decoded.add(rec.id)
        leftovers = [p.name for p in (root / "tmp").iterdir()] if (root / "tmp").exists() else []
        assert leftovers == [], f"orphan temp files after recovery: {leftovers}"
        return len(records)
    finally:
        store.close()


@pytest.mark.timeout(600)
def test_sigkill_at_random_moments_leaves_a_consistent_store(tmp_path: Path) -> None:
    cfg = tmp_path / "crash.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    root = tmp_path / "store"
    rng = random.Random(20261128)
    cmd = [sys.executable, "-m", "device.cli", "simulate",
           "synthetic:porch?seconds=40&size=320x240&fps=15", "--quiet",
           "--store", str(root), "--config", str(cfg)]
    counts: list[int] = []
    decoded: set[str] = set()
    for i in range(KILLS):
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        # Late kills land mid-write; early ones during start-up and reconciliation.
        time.sleep(rng.uniform(0.2, 3.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        assert b"Traceback" not in err, err.decode(errors="replace")[-2000:]
        counts.append(_check_store(root, decoded))
        assert counts[-1] >= (counts[-2] if len(counts) > 1 else 0), f"run {i} lost clips"
    assert counts[-1] > 0, "no clip was ever committed: the kills all came too early"
