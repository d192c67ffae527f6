"""The evidence manifest: what the device signs and the agency verifies (docs/protocol.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from uplink.protocol.fields import format_time
from uplink.protocol.keys import (
    public_key_to_text,
    sign_document,
)

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class ClockStatement:
    """The device's clock when a clip was recorded: whether network time had synchronised
    it, and the kernel's bound on its error in milliseconds (None: not known)."""

    synchronised: bool
    max_error_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"synchronised": self.synchronised, "max_error_ms": self.max_error_ms}

    @classmethod
    def from_json(cls, data: object) -> ClockStatement:
        """ValueError unless `data` is a well-formed statement (other keys are ignored)."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        synced, bound = data.get("synchronised"), data.get("max_error_ms")
        if not isinstance(synced, bool):
            raise ValueError("'synchronised' is not true or false")
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int)
                                  or bound < 0):
            raise ValueError("'max_error_ms' is not a whole number of milliseconds or null")
        return cls(synced, bound)


@dataclass(frozen=True)
class SourceClip:
    """The clip as stored on the device, when what was sent is a cut of it."""

    start: float
    end: float
    size: int
    sha256: str


@dataclass(frozen=True)
class EvidenceClip:
    """One file sent: its span (Unix times of its first frame and its end), size and hash;
    `original` names the stored clip it was cut from, if it was cut to the window; `clock`
    states the device's clock when it was recorded, if known; `credentials`: the file
    carries the device's Content Credentials (C2PA), added before it was hashed."""

    clip_id: str
    start: float
    end: float
    size: int
    sha256: str
    original: SourceClip | None = None
    clock: ClockStatement | None = None
    credentials: bool = False  # the file carries the device's Content Credentials (C2PA)


def build_manifest(*, request_id: str, case_number: str, agency_id: str, device_id: str,
                   clips: Sequence[EvidenceClip], key: Ed25519PrivateKey, kid: str,
                   now: float) -> bytes:
    """The signed manifest as canonical-ish JSON bytes, ready to upload."""
    import json

    doc: dict[str, Any] = {
        "type": "manifest",
        "protocol": 1,
        "request_id": request_id,
        "case_number": case_number,
        "agency_id": agency_id,
        "device_id": device_id,
        "device_key": public_key_to_text(key.public_key()),
        "created_at": format_time(int(now)),
        "clips": [_entry(c) for c in clips],
    }
    signed = sign_document(doc, key, kid)
    return json.dumps(signed, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"


def _span(start: float, end: float) -> dict[str, Any]:
    return {"start": format_time(int(start)), "end": format_time(int(end + 0.999))}


def _entry(c: EvidenceClip) -> dict[str, Any]:
    entry: dict[str, Any] = {"clip_id": c.clip_id, **_span(c.start, c.end),
                             "size": int(c.size), "sha256": c.sha256}
    if c.original is not None:
        o = c.original
        entry["original"] = {**_span(o.start, o.end), "size": int(o.size), "sha256": o.sha256}
    if c.clock is not None:
        entry["clock"] = c.clock.to_json()
    if c.credentials:
        entry["content_credentials"] = True
    return entry
