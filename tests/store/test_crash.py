"""SIGKILL a real process that commits and deletes clips; every restart must be consistent.

The child is tests/store/crash_writer.py. After each kill the test opens the store (which
recovers) and checks: every indexed clip exists with its SHA-256 and thumbnail; no temp
or orphan files; every acknowledged commit is still there unless a delete of it began;
every finished delete stays deleted; the clip count falls only by deletes.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from device.store import ClipStore, ReconcileReport
from tests.store.crash_writer import thumb_for
from tests.store.helpers import store_config

REPO = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("crash_writer.py")
KILLS = int(os.environ.get("DOORCAM_STORE_CRASH_KILLS", "50"))


def read_log(log: Path) -> dict[str, set[str]]:
    events: dict[str, set[str]] = {"begun": set(), "committed": set(), "deleting": set(),
                                   "deleted": set()}
    if log.exists():
        for line in log.read_text().splitlines():
            event, clip_id = line.split()
            events[event].add(clip_id)
    return events


def check(root: Path, events: dict[str, set[str]]) -> tuple[set[str], ReconcileReport]:
    with ClipStore(store_config(root)) as store:
        report = store.recovery
        assert not report.skipped
        ids = {r.id for r in store.list()}
        for rec in store.list():
            data = store.clip_path(rec.id).read_bytes()
            assert hashlib.sha256(data).hexdigest() == rec.sha256, rec.id
            assert store.thumbnail_path(rec.id).read_bytes() == thumb_for(rec.id), rec.id
    assert list((root / "tmp").iterdir()) == [], "temp files survived recovery"
    assert not (root / "orphans").exists(), "a crash left a clip that recovery could not place"
    assert {p.stem for p in (root / "clips").iterdir()} == ids
    assert {p.stem for p in (root / "thumbs").iterdir()} == ids
    lost = events["committed"] - events["deleting"] - ids
    assert not lost, f"acknowledged commits lost: {sorted(lost)}"
    resurrected = events["deleted"] & ids
    assert not resurrected, f"deleted clips came back: {sorted(resurrected)}"
    assert ids <= events["begun"], "a clip appeared that was never begun"
    return ids, report


@pytest.mark.timeout(120)
def test_sigkill_at_random_moments_keeps_the_store_consistent(tmp_path: Path) -> None:
    root, log = tmp_path / "store", tmp_path / "events.log"
    rng = random.Random(20240301)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    previous: set[str] = set()
    deletes_begun = 0
    recovered = ReconcileReport()
    for run in range(KILLS):
        proc = subprocess.Popen([sys.executable, str(WRITER), str(root), str(log), str(run)],
                                cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert proc.stdout is not None
        # One run in five dies during start-up (and its recovery); the rest mid-loop.
        if rng.random() < 0.2:
            delay = rng.uniform(0.0, 0.3)
        else:
            assert proc.stdout.readline() == b"ready\n", proc.stderr.read() if proc.stderr else ""
            delay = rng.uniform(0.0, 0.15)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err.decode(errors="replace")[-2000:]
        events = read_log(log)
        ids, report = check(root, events)
        deleted_now = len(events["deleting"]) - deletes_begun
        assert len(ids) >= len(previous) - deleted_now, f"run {run}: clips lost"
        previous, deletes_begun = ids, len(events["deleting"])
        recovered.temp_removed += report.temp_removed
        recovered.reindexed += report.reindexed
        recovered.deletes_finished += report.deletes_finished
    events = read_log(log)
    assert len(events["committed"]) > KILLS, "too few commits: the kills came too early"
    assert events["deleted"], "no delete ever finished"
    assert recovered.temp_removed > 0, "no kill ever landed while a clip was in progress"
    print(recovered.summary())
