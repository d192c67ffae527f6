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
class EvidenceClip:
    clip_id: str
    start: float  # Unix time of the first frame
    end: float
    size: int
    sha256: str


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
        "clips": [
            {"clip_id": c.clip_id, "start": format_time(int(c.start)),
             "end": format_time(int(c.end + 0.999)), "size": int(c.size), "sha256": c.sha256}
            for c in clips
        ],
    }
    signed = sign_document(doc, key, kid)
    return json.dumps(signed, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
