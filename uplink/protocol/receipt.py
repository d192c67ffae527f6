"""The agency's signed receipt: which files (SHA-256, size) it received for a request."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from uplink.errors import RequestRejected
from uplink.protocol.canonical import parse_json
from uplink.protocol.fields import UUID_RE, Fields, format_time
from uplink.protocol.keys import KID_RE, sign_document, verify_document
from uplink.protocol.registry import Agency

RECEIPT_TYPE: Final = "receipt"
MAX_RECEIPT_BYTES: Final = 60 * 1024  # the device reads at most 64 KiB of a response
MAX_RECEIPT_FILES: Final = 256
_HEX64: Final = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ReceivedFile:
    """One file as the agency got it: its SHA-256 (hex) and size in bytes."""

    sha256: str
    size: int


def receipt_url(upload_url: str, request_id: str) -> str:
    """Where the receipt for a request is fetched: `{upload_url}/receipt/{request_id}`."""
    return f"{upload_url.rstrip('/')}/receipt/{quote(request_id, safe='')}"


def build_receipt(*, request_id: str, files: Sequence[ReceivedFile], key: Ed25519PrivateKey,
                  kid: str, now: float) -> bytes:
    """The signed receipt as JSON bytes (the reference receiver serves this)."""
    doc: dict[str, Any] = {
        "type": RECEIPT_TYPE, "protocol": 1, "request_id": request_id,
        "received_at": format_time(int(now)),
        "files": [{"sha256": f.sha256, "size": int(f.size)} for f in files],
    }
    return json.dumps(sign_document(doc, key, kid), ensure_ascii=False).encode("utf-8")


def verify_receipt(data: bytes, agency: Agency | None, request_id: str,
                   sent: Sequence[ReceivedFile], now: float) -> str:
    """The receipt's SHA-256 (hex) if it is signed by a valid key of `agency`, names this
    request and lists every file that was sent; `RequestRejected` says what is wrong."""
    doc = parse_json(data, max_bytes=MAX_RECEIPT_BYTES, max_depth=3)
    f = Fields(doc, "$", "bad_receipt")
    if f.get("type", str) != RECEIPT_TYPE or f.integer("protocol", 0, 2**31) != 1:
        raise RequestRejected("bad_receipt", "not a version 1 receipt")
    if f.text("request_id", 36, pattern=UUID_RE) != request_id:
        raise RequestRejected("bad_receipt", "the receipt is for another request")
    received_at = f.time("received_at")
    got = set()
    for i, item in enumerate(f.items("files", MAX_RECEIPT_FILES)):
        entry = Fields(item, f"$.files[{i}]", "bad_receipt")
        got.add(ReceivedFile(entry.text("sha256", 64, pattern=_HEX64),
                             entry.integer("size", 0, 2**53 - 1)))
        entry.done()
    kid = f.text("kid", 64, pattern=KID_RE)
    f.used.add("sig")
    f.done()
    if agency is None:
        raise RequestRejected("unknown_agency", "the request's agency is no longer listed")
    key = agency.keys.get(kid)
    if key is None or key.revoked or not key.valid_from <= now <= key.valid_until:
        raise RequestRejected("unknown_key", f"{kid!r} is not a valid key of {agency.agency_id}")
    verify_document(doc, key.public_key)
    del received_at  # checked for form only: the device's own clock says when it asked
    missing = [s for s in sent if s not in got]
    if missing:
        raise RequestRejected("incomplete_receipt", f"{len(missing)} sent file(s) not listed, "
                              f"e.g. sha256 {missing[0].sha256[:16]}…")
    return hashlib.sha256(data).hexdigest()

