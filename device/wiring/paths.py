"""Where the device keeps its files, from the config: one answer for the daemon, the owner's
commands and the web app (a light module: the web app imports it without the media stack)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from common.livefiles import SNAPSHOT
from config import Config

RING_MARKER = "doorbell.ring"


@dataclass(frozen=True)
class DevicePaths:
    root: Path
    desk: Path
    audit: Path
    registry: Path
    registry_state: Path
    resume: Path
    device_key: Path
    live: Path  # the live view's files, on tmpfs (see `live_dir`)
    ring: Path  # the doorbell's latest ring in the store, when there is no live directory

    @property
    def rings(self) -> tuple[Path, Path]:
        """Where the doorbell's ring marker (ringmark.py) may be, in the daemon's order of
        preference: the live directory on tmpfs when the daemon publishes live view there (a
        press then costs the SD card no write), else the store. The web app's push thread
        watches both."""
        return self.live / RING_MARKER, self.ring

    @classmethod
    def of(cls, cfg: Config) -> DevicePaths:
        root = Path(cfg.store.path).expanduser()
        return cls(
            root=root, desk=root / "uplink.sqlite3", audit=root / "audit.sqlite3",
            registry=Path(cfg.uplink.registry_file).expanduser() if cfg.uplink.registry_file
            else root / "registry.json",
            registry_state=root / "registry.state", resume=root / "uploads.sqlite3",
            device_key=Path(cfg.uplink.device_key_file).expanduser()
            if cfg.uplink.device_key_file else root / "device_key.pem",
            live=live_dir(cfg), ring=root / RING_MARKER)


def live_dir(cfg: Config, env: Mapping[str, str] = os.environ) -> Path:
    """Where the daemon (or `doorcam simulate`) publishes live video and the snapshot, and
    where the web app reads them: `[live] dir`; else systemd's runtime directory
    (`RuntimeDirectory=doorcam`, which the web app's unit names too); else a directory of
    this user's runtime directory, or of /dev/shm, named after the store, so a daemon and a
    web app started by hand with one config find the same one, and two stores never share."""
    if cfg.live.dir:
        return Path(cfg.live.dir).expanduser()
    runtime = env.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if runtime:
        return Path(runtime) / "live"
    store = os.path.realpath(Path(cfg.store.path).expanduser())
    key = hashlib.sha256(store.encode()).hexdigest()[:12]
    xdg = env.get("XDG_RUNTIME_DIR", "")
    if xdg.startswith("/"):
        return Path(xdg) / f"doorcam-{key}"
    return Path("/dev/shm") / f"doorcam-{os.getuid()}-{key}"


def current_snapshot(cfg: Config) -> Path:
    """The current JPEG of the porch (at most `[live] snapshot_seconds` old while the camera
    runs; check its mtime): for push images and the web app."""
    return live_dir(cfg) / SNAPSHOT
