"""The config an owner's command on the device (`clips`, `requests`, `audit`) works with:
the file `device.access` finds, --store applied, read as the store's owner."""

from __future__ import annotations

import os
from pathlib import Path

from config import Config, ConfigError, load_config
from device.access import become_store_owner, config_path
from device.errors import UserError


def device_config(explicit: str | None, store: str | None) -> Config:
    """The config for an owner's command, with --store applied, as the store's owner."""
    path = config_path(explicit)
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        if path and os.geteuid() != 0 and any("Permission denied" in p.allowed
                                              for p in exc.problems):
            raise UserError(f"{path} is readable by root and the doorcam service only: "
                            "run this with sudo") from None
        raise
    from device.wiring import build  # lazily: it loads the media stack

    cfg = build.with_store_path(cfg, store)
    become_store_owner(Path(cfg.store.path).expanduser())
    return cfg
