"""The household access log: who viewed, downloaded, held, deleted, shared what, and when.

Hash-chained exactly like the request audit log (it is an `AuditLog` with its own kinds, its
own file and head), so `verify()` detects a changed, removed or reordered entry.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

from device.web.timefmt import clock, span
from uplink.audit import AuditEntry, AuditLog


class AccessKind(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOCKED_OUT = "locked_out"
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


_WORDS = {
    "login": "logged in", "login_failed": "failed to log in", "locked_out": "was locked out",
    "logout": "logged out", "viewed": "played clip {clip}",
    "downloaded": "downloaded clip {clip}", "held": "held clip {clip}",
    "released": "released the hold on clip {clip}", "deleted": "deleted clip {clip}",
    "shared": "shared {n} clip(s) with request {request}", "declined": "declined request "
    "{request}", "account_added": "account added (on the device)",
    "password_changed": "password changed (on the device)",
    "account_removed": "account removed (on the device)",
    "passkey_added": "added passkey \"{passkey}\"",
    "passkey_removed": "removed passkey \"{passkey}\"",
    "live_started": "started watching live video",
    "live_ended": "watched live video from {start} to {end} ({length})",
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
    start, end = _number(detail.get("from")), _number(detail.get("to"))
    what = text.format(clip=detail.get("clip", "?"), request=entry.request_id or "?",
                       n=len(clips), passkey=detail.get("passkey", "?"),
                       start=clock(start) if start else "?", end=clock(end) if end else "?",
                       length=span(end - start) if start and end else "?")
    if entry.kind == "shared" and clips:
        what += ": " + ", ".join(str(c) for c in clips)
    if detail.get("addr") and entry.kind in ("login", "login_failed", "locked_out"):
        what += f" from {detail['addr']}"
    return who, what


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None
