"""The household access log: who viewed, downloaded, held, deleted, shared what, and when.

Hash-chained exactly like the request audit log (it is an `AuditLog` with its own kinds, its
own file and head), so `verify()` detects a changed, removed or reordered entry.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

from uplink.audit import AuditEntry, AuditLog


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


def open_access_log(path: Path) -> AuditLog:
    return AuditLog(path, kinds=AccessKind)


_WORDS = {
    "login": "logged in", "login_failed": "failed to log in", "locked_out": "was locked out",
    "guessing": "someone is guessing passwords: {failures} failed logins {paused}; "
                "paused for {minutes:g} minutes",
    "logout": "logged out", "viewed": "played clip {clip}",
    "downloaded": "downloaded clip {clip}", "held": "held clip {clip}",
    "released": "released the hold on clip {clip}", "deleted": "deleted clip {clip}",
    "shared": "shared {n} clip(s) with request {request}", "declined": "declined request "
    "{request}", "account_added": "account added (on the device)",
    "password_changed": "password changed (on the device)",
    "account_removed": "account removed (on the device)",
    "passkey_added": "added passkey \"{passkey}\"",
    "passkey_removed": "removed passkey \"{passkey}\"",
}


_PAUSED = {
    "source": "from {addr}: password logins from there are",
    "account": "to account {account} from browsers that never signed in to it (the last from "
               "{addr}): those are",
    "device": "to account {account} from a browser that signed in to it before (at {addr}): "
              "that browser is",
}


def describe_access(entry: AuditEntry) -> tuple[str, str]:
    """(who, what happened) in words."""
    try:
        detail = json.loads(entry.detail)
    except ValueError:
        detail = {}
    who = str(detail.get("account") or "someone")
    text = _WORDS.get(entry.kind, entry.kind)
    clips = detail.get("clips") or []
    paused = _PAUSED.get(str(detail.get("paused")), "")
    if entry.kind == "guessing":
        who = "someone"
        paused = paused.format(account=detail.get("account", "?"),
                               addr=detail.get("addr", "?"))
    minutes = detail.get("minutes")
    what = text.format(clip=detail.get("clip", "?"), request=entry.request_id or "?",
                       n=len(clips), passkey=detail.get("passkey", "?"), paused=paused,
                       failures=detail.get("failures", "?"),
                       minutes=minutes if isinstance(minutes, (int, float)) else 0)
    if entry.kind == "shared" and clips:
        what += ": " + ", ".join(str(c) for c in clips)
    if detail.get("addr") and entry.kind in ("login", "login_failed", "locked_out"):
        what += f" from {detail['addr']}"
    return who, what
