"""Clip times from a recorded source replayed faster than real time: today's time at each
frame's real arrival, never in the future; such clips are marked simulated; the clock's
state shows in the daemon's status and stats."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from config import CaptureConfig, Config
from device.daemon.capture import CaptureSide
from device.daemon.clock import ClockWatch
from tests.daemon_proc import DaemonRun

REPO = Path(__file__).resolve().parent.parent
SCENE = "synthetic:porch?seconds=20&size=320x240"


def _clips(config: Path) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "device.cli", "clips", "list", "--json",
                           "--config", str(config)], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def _check_times(clips: list[dict[str, Any]], started: float) -> None:
    assert clips, "the scene has visitors: at least one clip"
    for c in clips:
        # `created` is the store's time.time() at commit.
        assert started <= c["start_wall"] <= c["end_wall"] <= c["created"], c
        assert c["simulated"] is True, c
        # Replayed 8x: the clip's span in today's time is about 1/8 of its media length.
        assert c["end_wall"] - c["start_wall"] < c["duration"] / 2, c


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(f'[capture]\nsource = "{SCENE}"\n[store]\npath = "{tmp_path / "store"}"\n',
                   encoding="utf-8")
    return cfg


def test_simulate_at_speed_8_dates_clips_by_their_real_arrival(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    started = time.time()
    done = subprocess.run([sys.executable, "-m", "device.cli", "simulate", "--speed", "8",
                           "--quiet", "--config", str(cfg)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert time.time() - started < 20, "paced at 8x, not real time"
    clips = _clips(cfg)
    _check_times(clips, started)
    # The marker in the owner's listing and in a clip's details.
    listed = subprocess.run([sys.executable, "-m", "device.cli", "clips", "list", "--config",
                             str(cfg)], cwd=REPO, capture_output=True, text=True, timeout=60)
    ids = tuple(c["id"] for c in clips)
    rows = [ln for ln in listed.stdout.splitlines() if ln.startswith(ids)]
    assert len(rows) == len(clips) and all("simulated" in r for r in rows), listed.stdout
    shown = subprocess.run([sys.executable, "-m", "device.cli", "clips", "show",
                            clips[0]["id"], "--config", str(cfg)], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert "simulated: yes: from a synthetic scene or a video file" in shown.stdout, shown.stdout


def test_run_at_speed_8_never_dates_clips_into_the_future(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    started = time.time()
    daemon = DaemonRun(cfg, speed="8")
    try:
        daemon.wait_for_line("clip stored", 60)  # one clip committed while running
        code = daemon.stop()
    finally:
        daemon.kill()
    assert code == 0, daemon.stderr
    clips = _clips(cfg)
    _check_times(clips, started)
    unsynced = "system clock not synchronised" in daemon.stderr
    assert "system clock synchronised" in daemon.stderr or unsynced, daemon.stderr
    assert all(c["clock_synced"] is not unsynced for c in clips), daemon.stderr


def test_status_and_stats_say_when_the_clock_is_not_synchronised() -> None:
    cfg = Config(capture=CaptureConfig(source=SCENE))
    synced = [False]
    side = CaptureSide(cfg, None, clock=ClockWatch(lambda: synced[0]))
    assert side.simulated
    assert side.status().startswith("clock not synchronised; ")
    assert side.stats()["clock_synced"] is False
    synced[0] = True
    assert "clock" not in side.status() and "frames/s" in side.status()
    assert side.stats()["clock_synced"] is True
