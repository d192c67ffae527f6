"""The owner's commands on the device (`clips`, `requests`, `audit`): which config they read,
and whose files they write.

Without --config they read $DOORCAM_CONFIG, else the installed /etc/doorcam/doorcam.toml when
there is one, else the defaults (a development checkout). Run as root (`sudo doorcam ...`),
they act as the owner of the store directory, the service's own user: files they create
(SQLite journals, the audit head) must stay writable by the daemon.
"""

from __future__ import annotations

import os
from pathlib import Path

from config import Config, ConfigError, load_config
from device.errors import UserError

INSTALLED_CONFIG = Path("/etc/doorcam/doorcam.toml")


def config_path(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    if os.environ.get("DOORCAM_CONFIG"):
        return os.environ["DOORCAM_CONFIG"]
    return str(INSTALLED_CONFIG) if INSTALLED_CONFIG.exists() else None


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


def become_store_owner(store: Path) -> None:
    """As root, switch to the user and group owning `store` (no-op otherwise)."""
    if os.geteuid() != 0:
        return
    try:
        st = store.stat()
    except OSError:
        return  # nothing there yet: nothing of the daemon's to keep writable
    if st.st_uid == 0:
        return
    os.setgroups([])
    os.setgid(st.st_gid)
    os.setuid(st.st_uid)
