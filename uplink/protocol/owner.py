"""The owner channel's documents (docs/protocol.md, "Owner channel" and "Owner decisions").

The device signs what it tells its owners (the view of its requests, its audit head) with its
Ed25519 key; the owner signs decisions with an enrolled owner key. Both travel sealed
(`uplink.protocol.envelope`). The view carries each pending request as the agency's own
signed bytes, so the owner's tool checks the agency's signature itself.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Final, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from uplink.errors import RequestRejected
from uplink.protocol.canonical import JsonObject, parse_json
from uplink.protocol.fields import format_time, is_version
from uplink.protocol.keys import b64url_encode, sign_document, verify_document
from uplink.protocol.registry import Registry
from uplink.protocol.request import AgencyRequest, parse_request
from uplink.protocol.urls import check_upload_url
from uplink.protocol.validator import check_key

VIEW_TYPE: Final = "owner_view"
HEAD_TYPE: Final = "audit_head"
MAX_VIEW_BYTES: Final = 3 * 1024 * 1024


class Verdict(StrEnum):
    """The owner's answer to a request: a decision's `verdict`, and the request book's."""

    ACCEPT = "accept"
    DECLINE = "decline"


class OwnerTopics(NamedTuple):
    """The owner channel's topics under the device's owner topic `base`."""

    decisions: str  # owners' sealed decisions to the device
    view: str  # the device's sealed view (retained)
    head: str  # the device's sealed audit head (retained)

    @classmethod
    def under(cls, base: str) -> OwnerTopics:
        return cls(f"{base}/decisions", f"{base}/pending", f"{base}/audit")


def owner_decision(*, key: Ed25519PrivateKey, kid: str, device_id: str, request_id: str,
                   request_sha256: str, verdict: str, clips: Sequence[tuple[str, str]],
                   destination: str, now: int) -> JsonObject:
    """A signed owner decision, bound to the exact request body the owner was shown."""
    body = {"type": "decision", "protocol": 1, "decision_id": str(uuid.uuid4()),
            "request_id": request_id, "request_sha256": request_sha256,
            "device_id": device_id, "verdict": verdict,
            "clips": [{"id": c, "sha256": s} for c, s in clips], "destination": destination,
            "issued_at": format_time(now)}
    return sign_document(body, key, kid)


def sign_view(*, key: Ed25519PrivateKey, kid: str, device_id: str, now: int, enc_key: str,
              pending: Sequence[JsonObject], recent: Sequence[JsonObject],
              audit_seq: int) -> JsonObject:
    """`pending` entries: {request: raw bytes as base64url, request_sha256, received_at,
    clips: [{id, sha256, start, end}]}; `recent`: {request_id, status, at}."""
    body = {"type": VIEW_TYPE, "protocol": 1, "device_id": device_id, "at": format_time(now),
            "enc_key": enc_key, "audit_seq": audit_seq, "pending": list(pending),
            "recent": list(recent)}
    return sign_document(body, key, kid)


def sign_head(*, key: Ed25519PrivateKey, kid: str, device_id: str, seq: int, digest: str,
              now: int) -> JsonObject:
    body = {"type": HEAD_TYPE, "protocol": 1, "device_id": device_id, "seq": seq,
            "hash": digest, "at": format_time(now)}
    return sign_document(body, key, kid)


def raw_request_text(payload: bytes) -> str:
    return b64url_encode(payload)


def verify_device_document(plaintext: bytes, device_key: Ed25519PublicKey, *, kind: str,
                           device_id: str) -> JsonObject:
    """A view or head the device signed, or RequestRejected (never another exception)."""
    doc = parse_json(plaintext, max_bytes=MAX_VIEW_BYTES, max_depth=5)
    if doc.get("type") != kind or not is_version(doc.get("protocol")):
        raise RequestRejected("schema", f"not a protocol-1 {kind} document")
    verify_document(doc, device_key)
    if doc.get("device_id") != device_id:
        raise RequestRejected("schema", "signed for another device")
    return doc


def view_request(entry: Any, registry: Registry, now: float) -> tuple[AgencyRequest, bytes]:
    """Verify one pending entry's request as a device would, against the owner's registry:
    the agency is listed under that name, its key valid, its signature good, the area inside
    its jurisdiction, the upload host one of its own; and the body hash the device bound."""
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), str):
        raise RequestRejected("schema", "pending entry without the agency's request")
    text = entry["request"]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise RequestRejected("schema", "request is not base64url") from None
    req = parse_request(raw)
    agency = registry.agency(req.agency_id)
    if agency is None or agency.name != req.agency_name:
        raise RequestRejected("unknown_agency",
                              f"agency {req.agency_id!r} / {req.agency_name!r} is not listed")
    key = check_key(agency.keys.get(req.kid), req, min(now, req.expires_at))
    verify_document(req.document, key.public_key)
    if not agency.jurisdiction.contains_circle(req.lat, req.lon, req.radius_m):
        raise RequestRejected("outside_jurisdiction",
                              f"area is outside {agency.agency_id}'s jurisdiction")
    check_upload_url(req.upload_url, agency.upload_hosts, allow_insecure_loopback=True)
    if entry.get("request_sha256") != req.body_sha256:
        raise RequestRejected("schema", "the device's bound hash is not the request's")
    return req, raw
