"""The evidence manifest: what the device signs and the agency verifies (docs/protocol.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from uplink.errors import RequestRejected
from uplink.protocol.canonical import parse_json
from uplink.protocol.fields import format_time
from uplink.protocol.keys import (
    public_key_from_text,
    public_key_to_text,
    sign_document,
    verify_document,
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


@dataclass(frozen=True)
class EvidenceReport:
    ok: bool
    request_id: str
    problems: tuple[str, ...]
    verified_clips: tuple[str, ...]


def verify_evidence(manifest: bytes, clip_files: Mapping[str, Path]) -> EvidenceReport:
    """Check the manifest's signature and every listed clip's size and SHA-256.

    `clip_files` maps clip id to the received file. Never raises on bad input: problems are
    listed in the report.
    """
    problems: list[str] = []
    try:
        doc = parse_json(manifest, max_bytes=1 << 20, max_depth=6)
        if doc.get("type") != "manifest":
            raise RequestRejected("schema", "not a manifest")
        key = public_key_from_text(str(doc.get("device_key", "")))
        body = verify_document(doc, key)
    except (RequestRejected, ValueError) as exc:
        return EvidenceReport(False, "", (f"manifest: {exc}",), ())
    request_id = str(body.get("request_id", ""))
    verified = []
    clips = body.get("clips")
    if not isinstance(clips, list) or not clips:
        problems.append("manifest lists no clips")
        clips = []
    for entry in clips:
        cid = str(entry.get("clip_id", "")) if isinstance(entry, dict) else ""
        path = clip_files.get(cid)
        if path is None or not Path(path).is_file():
            problems.append(f"clip {cid or '?'}: not received")
            continue
        size = Path(path).stat().st_size
        if size != entry.get("size"):
            problems.append(f"clip {cid}: size {size} != {entry.get('size')}")
        elif _sha256_file(Path(path)) != entry.get("sha256"):
            problems.append(f"clip {cid}: SHA-256 does not match the manifest")
        else:
            verified.append(cid)
    return EvidenceReport(not problems, request_id, tuple(problems), tuple(verified))


def _sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
