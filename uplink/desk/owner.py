"""Owner decisions received over MQTT (docs/protocol.md, "Owner decisions")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common import CLIP_ID_PATTERN
from uplink.desk.book import Verdict
from uplink.errors import DecisionRefused, Refusal, RequestRejected
from uplink.protocol import parse_json, verify_document
from uplink.protocol.fields import is_version, parse_time

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SHA = re.compile(r"[0-9a-f]{64}")
# request_sha256 binds the decision to the request body the owner saw (docs/protocol.md);
# decisions without it (made by tools from before it existed) are refused as bad_document.
_FIELDS = {"type", "protocol", "decision_id", "request_id", "request_sha256", "device_id",
           "verdict", "clips", "destination", "issued_at", "kid", "sig"}


@dataclass(frozen=True)
class OwnerDecision:
    decision_id: str
    request_id: str
    verdict: Verdict
    clips: tuple[tuple[str, str], ...]
    destination: str
    issued_at: int
    request_sha256: str


def parse_owner_decision(payload: bytes, owner_keys: Mapping[str, Ed25519PublicKey],
                         device_id: str, now: float, skew_s: int) -> OwnerDecision:
    """The verified decision, or DecisionRefused (never another exception)."""
    try:
        doc = parse_json(payload, max_bytes=16384, max_depth=4)
    except RequestRejected as exc:
        raise DecisionRefused(Refusal.BAD_DOCUMENT, exc.detail) from None
    if set(doc) != _FIELDS or doc.get("type") != "decision" or not is_version(
            doc.get("protocol")):
        raise DecisionRefused(Refusal.BAD_DOCUMENT, "not a protocol-1 decision document")
    kid = doc.get("kid")
    key = owner_keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise DecisionRefused(Refusal.UNKNOWN_KEY, f"{kid!r} is not an enrolled owner key")
    try:
        verify_document(doc, key)
    except RequestRejected as exc:
        raise DecisionRefused(Refusal(exc.reason), exc.detail) from None
    try:
        issued = parse_time(str(doc["issued_at"]))
    except (ValueError, RequestRejected):
        raise DecisionRefused(Refusal.BAD_DOCUMENT, "issued_at is not a UTC time") from None
    if abs(issued - now) > skew_s:
        raise DecisionRefused(Refusal.STALE, "issued_at is not within the clock skew of now")
    if doc["device_id"] != device_id:
        raise DecisionRefused(Refusal.WRONG_DEVICE, "the decision is for another device")
    if doc["verdict"] not in tuple(Verdict):
        raise DecisionRefused(Refusal.BAD_DOCUMENT, "verdict must be accept or decline")
    ids = (doc["decision_id"], doc["request_id"])
    if not all(isinstance(x, str) and _UUID.fullmatch(x) for x in ids):
        raise DecisionRefused(Refusal.BAD_DOCUMENT, "decision_id and request_id must be UUIDs")
    clips = doc["clips"]
    if not isinstance(clips, list) or len(clips) > 1000 or not all(
            isinstance(c, dict) and set(c) == {"id", "sha256"}
            and isinstance(c["id"], str) and CLIP_ID_PATTERN.fullmatch(c["id"])
            and isinstance(c["sha256"], str) and _SHA.fullmatch(c["sha256"]) for c in clips):
        raise DecisionRefused(Refusal.BAD_DOCUMENT, "clips must be a list of {id, sha256}")
    if doc["verdict"] == Verdict.ACCEPT and not clips:
        raise DecisionRefused(Refusal.BAD_DOCUMENT, "an acceptance must name its clips")
    if not isinstance(doc["request_sha256"], str) or not _SHA.fullmatch(doc["request_sha256"]):
        raise DecisionRefused(Refusal.BAD_DOCUMENT, "request_sha256 must be 64 hex digits")
    if not isinstance(doc["destination"], str):
        raise DecisionRefused(Refusal.BAD_DOCUMENT, "destination must be a URL string")
    return OwnerDecision(doc["decision_id"], doc["request_id"], Verdict(doc["verdict"]),
                         tuple((c["id"], c["sha256"]) for c in clips), doc["destination"],
                         issued, doc["request_sha256"])
