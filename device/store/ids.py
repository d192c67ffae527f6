"""Clip ids: `YYYYMMDDTHHMMSSZ-xxxxxxxx` (UTC start of the clip plus 8 random hex digits).

Ids reach the store from the command line and, later, from the network, and become file
names; `validate_clip_id` is the single gate every such id passes before a path is built.
"""

from __future__ import annotations

import secrets
import time

from common import CLIP_ID_PATTERN
from device.store.errors import InvalidClipId

ID_LENGTH = 25
_SHOWN = 40  # how much of a rejected id the error message echoes


def new_clip_id(now: float | None = None) -> str:
    """A fresh id for a clip starting at Unix time `now` (default: the current time)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{secrets.token_hex(4)}"


def is_clip_id(s: object) -> bool:
    return isinstance(s, str) and len(s) == ID_LENGTH and CLIP_ID_PATTERN.fullmatch(s) is not None


def validate_clip_id(s: object) -> str:
    """Return `s` unchanged if it is a well-formed clip id, else raise InvalidClipId."""
    if is_clip_id(s):
        assert isinstance(s, str)
        return s
    shown = repr(s[:_SHOWN]) + "…" if isinstance(s, str) and len(s) > _SHOWN else repr(s)
    raise InvalidClipId(
        f"invalid clip id {shown}: expected YYYYMMDDTHHMMSSZ-xxxxxxxx "
        "(UTC time and 8 lowercase hex digits)")
