"""Where the device keeps its files, from the config: one answer for the daemon, the owner's
commands and the web app (a light module: the web app imports it without the media stack)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from config import Config


@dataclass(frozen=True)
class DevicePaths:
    root: Path
    desk: Path
    audit: Path
    registry: Path
    registry_state: Path
    resume: Path
    device_key: Path
    ring: Path  # the doorbell's latest ring, for the web app's prompt push (ringmark.py)

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
            ring=root / "doorbell.ring")
