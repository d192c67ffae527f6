"""Unpadded base64url (RFC 4648 §5), as Web Push and JWTs write it; strict on input."""

from __future__ import annotations

import base64
import binascii
import re

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def b64url(data: bytes) -> str:
    """Encode without '=' padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; ValueError for anything else."""
    if not isinstance(text, str) or not _ALPHABET.fullmatch(text):
        raise ValueError("not base64url (A-Z a-z 0-9 - _)")
    bare = text.rstrip("=")
    if len(bare) % 4 == 1:
        raise ValueError("not base64url (impossible length)")
    try:
        return base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except binascii.Error as exc:
        raise ValueError(f"not base64url ({exc})") from None
