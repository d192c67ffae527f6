"""`doorcam run` under a systemd-like supervisor: READY, STATUS, WATCHDOG, clean SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from capture.media.decode import probe_clip

REPO = Path(__file__).resolve().parent.parent


def _messages(sock: socket.socket, until: float) -> list[str]:
    out = []
    sock.settimeout(0.2)
    while time.monotonic() < until:
        try:
            out.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
    return out


def test_run_notifies_systemd_and_finalizes_the_clip_on_sigterm(tmp_path: Path) -> None:
    cfg = tmp_path / "doorcam.toml"
    store = tmp_path / "store"
    cfg.write_text(
        '[capture]\nsource = "synthetic:porch?size=320x240"\nloop = true\n'
        f'[store]\npath = "{store}"\n', encoding="utf-8")
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    env = dict(os.environ, NOTIFY_SOCKET=str(sock_path), WATCHDOG_USEC="2000000")
    proc = subprocess.Popen([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                             "--speed", "3"], cwd=REPO, env=env, stderr=subprocess.PIPE,
                            text=True)
    try:
        msgs = _messages(sock, time.monotonic() + 12)
        assert any(m.startswith("READY=1") and "frames/s" in m for m in msgs), msgs
        assert sum(m == "WATCHDOG=1" for m in msgs) >= 3, msgs
        assert any(m.startswith("STATUS=") and "last motion event" in m for m in msgs), msgs
        # The scene's first visitor is on camera now (8-12 s of video at 3x): mid-clip.
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    clips = sorted((store / "clips").glob("*.mp4"))
    assert clips, err
    for clip in clips:
        assert probe_clip(clip).frames > 0
    assert not list((store / "tmp").glob("*.part")), "SIGTERM left a half-written clip"


def test_config_error_exits_78_for_systemd(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[store]\nmax_size_mb = -1\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "device.cli", "run", "--config", str(cfg)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 78
    assert done.stderr.strip() == (f"doorcam: config error: {cfg}:2: store.max_size_mb = -1: "
                                   "must be between 0 and 10000000")


def test_unusable_registry_degrades_the_uplink_but_the_camera_keeps_recording(
        tmp_path: Path) -> None:
    store = tmp_path / "store"
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(
        '[capture]\nsource = "synthetic:porch?size=320x240"\nloop = true\n'
        f'[store]\npath = "{store}"\n[device]\nlatitude = 40.7\nlongitude = -73.9\n'
        '[uplink]\nenabled = true\nregistry_key = "' + "A" * 43 + '"\n[mqtt]\nport = 1\n',
        encoding="utf-8")
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    env = dict(os.environ, NOTIFY_SOCKET=str(sock_path))
    proc = subprocess.Popen([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                             "--speed", "4"], cwd=REPO, env=env, stderr=subprocess.PIPE,
                            text=True)
    try:
        msgs = _messages(sock, time.monotonic() + 12)
        assert proc.poll() is None, "the daemon stopped over an uplink problem"
        assert any("agency requests OFF" in m and "registry" in m for m in msgs), msgs
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
    assert proc.returncode == 0, err
    assert list((store / "clips").glob("*.mp4")), "no clip recorded"


def test_sighup_applies_live_settings_and_names_the_rest(tmp_path: Path) -> None:
    store = tmp_path / "store"
    cfg = tmp_path / "doorcam.toml"
    base = ('[capture]\nsource = "synthetic:porch?size=320x240"\nloop = true\n'
            f'[store]\npath = "{store}"\n')
    cfg.write_text(base, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                             "--speed", "4"], cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)
        cfg.write_text(base + "max_age_days = 7.0\n[motion]\nthreshold = 30\n"
                       "[mqtt]\nport = 1884\n", encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        time.sleep(3)
        cfg.write_text(base + "[motion]\nthreshold = 999\n", encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        time.sleep(3)
        assert proc.poll() is None, "a bad reload must not stop the daemon"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert ("reload: motion.threshold, store.max_age_days applied; needs a restart: "
            "mqtt.port") in err, err[-3000:]
    assert "reload refused, keeping the running config" in err and "threshold = 999" in err
    assert "configuration reloaded" in err
