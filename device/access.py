"""Which config the owner's commands read, and whose files they write (the CLI's owner
commands and the web app alike).

Without --config they read $DOORCAM_CONFIG, else the installed /etc/doorcam/doorcam.toml when
there is one, else the defaults (a development checkout). Run as root (`sudo doorcam ...`),
they act as the owner of the store directory, the service's own user: files they create
(SQLite journals, the audit head) must stay writable by the daemon. A file handed back to
the person who ran sudo (an exported clip) is written as that person instead (`Invoker`).
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
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


def load_owner_config(path: str | None) -> Config:
    """The config at `path`; an unreadable installed config says to use sudo."""
    try:
        return load_config(path)
    except ConfigError as exc:
        if path and os.geteuid() != 0 and any("Permission denied" in p.allowed
                                              for p in exc.problems):
            raise UserError(f"{path} is readable by root and the doorcam service only: "
                            "run this with sudo") from None
        raise


def become_store_owner(store: Path) -> None:
    """As root, switch to the user and group owning `store` (no-op otherwise); the web
    app's commands pass its own folder (`<store>/web`, its own service user's)."""
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
    # As the services do (UMask=0007): what is made here stays usable by the store's group
    # (the web app's own user), never by others.
    os.umask(0o007)


@dataclass(frozen=True)
class Invoker:
    """The user who ran `sudo doorcam ...`: files made for them are theirs."""

    uid: int
    gid: int
    groups: tuple[int, ...]

    def become(self) -> None:
        """Switch this process to the invoker for good (a forked helper does this)."""
        os.setgroups(list(self.groups))
        os.setgid(self.gid)
        os.setuid(self.uid)


def sudo_invoker() -> Invoker | None:
    """As root under sudo, the invoking user (SUDO_UID/SUDO_GID); None otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        uid, gid = int(os.environ["SUDO_UID"]), int(os.environ["SUDO_GID"])
    except (KeyError, ValueError):
        return None
    if uid == 0:
        return None
    try:
        groups = tuple(os.getgrouplist(pwd.getpwuid(uid).pw_name, gid))
    except KeyError:  # a uid without a passwd entry: its primary group only
        groups = (gid,)
    return Invoker(uid, gid, groups)
