"""The config an owner's command on the device (`clips`, `requests`, `audit`) works with:
the file `device.access` finds, --store applied, read as the store's owner."""

from __future__ import annotations

from pathlib import Path

from config import Config
from device.access import become_store_owner, config_path, load_owner_config


def device_config(explicit: str | None, store: str | None) -> Config:
    """The config for an owner's command, with --store applied, as the store's owner."""
    cfg = load_owner_config(config_path(explicit))
    from device.wiring import build  # lazily: it loads the media stack

    cfg = build.with_store_path(cfg, store)
    become_store_owner(Path(cfg.store.path).expanduser())
    return cfg
