"""`doorcam run` under a systemd-like supervisor: READY, STATUS, WATCHDOG, clean SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from capture.media.decode import probe_clip
from tests.daemon_proc import DaemonRun, NotifySocket

REPO = Path(__file__).resolve().parent.parent


def test_run_notifies_systemd_and_finalizes_the_clip_on_sigterm(tmp_path: Path) -> None:
    cfg = tmp_path / "doorcam.toml"
    store = tmp_path / "store"
    cfg.write_text(
        '[capture]\nsource = "synthetic:porch?size=320x240"\nloop = true\n'
        f'[store]\npath = "{store}"\n', encoding="utf-8")
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = DaemonRun(cfg, speed="3", env=notify.env(WATCHDOG_USEC="2000000"))
    try:
        msgs = notify.wait_for(
            lambda m: any(x.startswith("READY=1") and "frames/s" in x for x in m)
            and sum(x == "WATCHDOG=1" for x in m) >= 3
            and any(x.startswith("STATUS=") and "last motion event" in x for x in m),
            30, "READY, three watchdog pings and a STATUS line")
        # The precondition of "finalizes the open clip": an event is in progress, no clip
        # of it stored yet.
        daemon.wait_for_line("motion event 1 started", 60)
        assert "clip stored" not in daemon.stderr
        stored_before = len(list((store / "clips").glob("*.mp4")))
        assert stored_before == 0, msgs
        code = daemon.stop()
    finally:
        daemon.kill()
        notify.close()
    err = daemon.stderr
    assert code == 0, err
    assert "Traceback" not in err
    clips = sorted((store / "clips").glob("*.mp4"))
    assert clips, err
    assert "clip stored" in err.split("signal 15: shutting down", 1)[1], "not finalized on stop"
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


def test_unusable_registry_at_start_is_a_config_error(tmp_path: Path) -> None:
    """No registry where the config says: exit 78 before anything starts (systemd does not
    restart it), not an uplink failing later inside its thread."""
    store = tmp_path / "store"
    cfg = tmp_path / "doorcam.toml"
    cfg.write_text(
        '[capture]\nsource = "synthetic:porch?size=320x240"\nloop = true\n'
        f'[store]\npath = "{store}"\n[device]\nlatitude = 40.7\nlongitude = -73.9\n'
        '[uplink]\nenabled = true\nregistry_key = "' + "A" * 43 + '"\n[mqtt]\nport = 1\n',
        encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "device.cli", "run", "--config", str(cfg)],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 78, done.stderr
    line = done.stderr.strip()
    assert line.startswith(f"doorcam: config error: {cfg}:9: uplink.registry_file = "), line
    assert "cannot be read (No such file or directory): install the signed agency registry" \
        in line and "doorcam registry install" in line
    assert not store.exists()


def test_sighup_applies_live_settings_and_names_the_rest(tmp_path: Path) -> None:
    store = tmp_path / "store"
    cfg = tmp_path / "doorcam.toml"
    base = ('[capture]\nsource = "synthetic:porch?size=320x240"\nloop = true\n'
            f'[store]\npath = "{store}"\n')
    cfg.write_text(base, encoding="utf-8")
    daemon = DaemonRun(cfg)
    try:
        daemon.wait_for_line("doorcam running", 60)
        cfg.write_text(base + "max_age_days = 7.0\n[motion]\nthreshold = 30\n"
                       "[mqtt]\nport = 1884\n", encoding="utf-8")
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for_line("configuration reloaded", 60,
                             after=daemon.wait_for_line("reload:", 60))
        cfg.write_text(base + "[motion]\nthreshold = 999\n", encoding="utf-8")
        mark = daemon.line_count()
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for_line("reload refused", 60, after=mark)
        assert daemon.running(), "a bad reload must not stop the daemon"
        code = daemon.stop()
    finally:
        daemon.kill()
    err = daemon.stderr
    assert code == 0, err
    assert ("reload: motion.threshold, store.max_age_days applied; needs a restart: "
            "mqtt.port") in err, err[-3000:]
    assert "reload refused, keeping the running config" in err and "threshold = 999" in err
    assert "configuration reloaded" in err
