"""Where live video goes: one directory that `doorcam run`/`simulate` and `doorcam web`,
started with one config, both find; systemd's runtime directory under the service."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from config import Config
from config.live import LiveConfig
from config.schema import StoreConfig
from device.web.context import WebPaths
from device.wiring.paths import DevicePaths, current_snapshot, live_dir
from tests.daemon_proc import REPO
from tests.support import wait_until


def config(store: Path, live: str = "") -> Config:
    return Config(store=StoreConfig(path=str(store)), live=LiveConfig(dir=live))


def test_the_live_directory_follows_from_the_config(tmp_path: Path) -> None:
    a, b = config(tmp_path / "a"), config(tmp_path / "b")
    none: dict[str, str] = {}
    assert live_dir(a, none) == live_dir(config(tmp_path / "a"), none)  # run and web agree
    assert live_dir(a, none) != live_dir(b, none)  # two stores never share
    assert live_dir(a, none).parent == Path("/dev/shm")
    xdg = {"XDG_RUNTIME_DIR": "/run/user/1000"}
    assert live_dir(a, xdg).parent == Path("/run/user/1000")
    systemd = {"RUNTIME_DIRECTORY": "/run/doorcam", **xdg}
    assert live_dir(a, systemd) == live_dir(b, systemd) == Path("/run/doorcam/live")
    assert live_dir(config(tmp_path / "a", "/run/mine"), systemd) == Path("/run/mine")
    # The web app reads where the daemon writes; the snapshot for push images is in it.
    assert WebPaths.of(a).live == DevicePaths.of(a).live == live_dir(a)
    assert current_snapshot(a) == live_dir(a) / "snapshot.jpg"


def test_a_simulation_publishes_live_video_where_the_web_app_looks(tmp_path: Path) -> None:
    cfg_file = tmp_path / "doorcam.toml"
    store = tmp_path / "store"
    cfg_file.write_text(f'[store]\npath = "{store}"\n', encoding="utf-8")
    where = live_dir(config(store))
    proc = subprocess.Popen(
        [sys.executable, "-m", "device.cli", "simulate", "synthetic:empty?seconds=8&"
         "size=320x240", "--speed", "realtime", "--quiet", "--config", str(cfg_file)],
        cwd=REPO, stderr=subprocess.PIPE, text=True)
    try:
        index = where / "live.json"
        wait_until(lambda: index.exists() and json.loads(index.read_bytes())["fragments"],
                   30, f"fragments in {where}")
        assert (where / "snapshot.jpg").exists()
        first = json.loads(index.read_bytes())["fragments"][0]
        assert abs(first["wall"] - time.time()) < 10  # the frames' capture times
    finally:
        assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
    assert not where.exists()  # the simulation ended: its live files went with it
