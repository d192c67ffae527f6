"""The household access log: who viewed, downloaded, held, deleted, shared what, and when.

Hash-chained exactly like the request audit log (it is an `AuditLog` with its own kinds, its
own file and head), so `verify()` detects a changed, removed or reordered entry.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from uplink.audit import AuditLog


class AccessKind(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKED_OUT = "locked_out"
    GUESSING = "guessing"  # a run of failed logins began a pause: someone may be guessing
    LOGOUT = "logout"
    VIEWED = "viewed"
    DOWNLOADED = "downloaded"
    HELD = "held"
    RELEASED = "released"
    DELETED = "deleted"
    SHARED = "shared"
    DECLINED = "declined"
    ACCOUNT_ADDED = "account_added"
    PASSWORD_CHANGED = "password_changed"
    ACCOUNT_REMOVED = "account_removed"
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_REMOVED = "passkey_removed"
    LIVE_STARTED = "live_started"
    LIVE_ENDED = "live_ended"


def open_access_log(path: Path) -> AuditLog:
    return AuditLog(path, kinds=AccessKind)
