"""The device's side of the owner channel (docs/protocol.md, "Owner channel").

What the device says to its owners (the view of its requests, its audit head) is signed with
the device key and sealed to every owner's X25519 key; decisions arrive sealed to the
device's own X25519 key and signed by an owner key. Nothing here touches the network.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from uplink.desk.book import DecisionRow, RequestStatus
from uplink.desk.desk import RequestDesk
from uplink.errors import DecisionRefused, Refusal
from uplink.protocol.canonical import JsonObject
from uplink.protocol.envelope import EnvelopeError, open_sealed, seal, x25519_to_text
from uplink.protocol.fields import format_time
from uplink.protocol.owner import OwnerTopics, raw_request_text, sign_head, sign_view

log = logging.getLogger("doorcam.requests")

RECENT = 20  # decided or expired requests the view still lists
_DECIDED = (RequestStatus.ACCEPTED, RequestStatus.DECLINED, RequestStatus.EXPIRED,
            RequestStatus.UPLOADED, RequestStatus.FAILED)


class OwnerChannel:
    def __init__(self, device_id: str, base_topic: str, key: Ed25519PrivateKey, kid: str,
                 enc_key: X25519PrivateKey, owners: Mapping[str, X25519PublicKey]) -> None:
        self.device_id = device_id
        self.decisions_topic, self.view_topic, self.head_topic = OwnerTopics.under(base_topic)
        self.key, self.kid = key, kid
        self.enc_key = enc_key
        self.owners = dict(owners)

    def content(self, desk: RequestDesk, now: float) -> JsonObject:
        """The view's content, unsigned: what changes when the owner should hear of it."""
        pending, older = [], 0
        for r in desk.pending(now):
            if r.document is None:
                older += 1  # stored by a version that did not keep the signed request
                continue
            pending.append({
                "request": raw_request_text(r.document), "request_sha256": r.body_sha256,
                "received_at": format_time(int(r.received_at)),
                "clips": [{"id": c.clip_id, "sha256": c.sha256,
                           "start": format_time(int(c.start_wall)),
                           "end": format_time(int(c.end_wall))} for c in r.clips]})
        if older:
            log.warning("%d pending request(s) predate signed owner views: decide them on "
                        "the device", older)
        decided = [r for r in desk.all() if r.status in _DECIDED][-RECENT:]
        recent = [{"request_id": r.request_id, "status": str(r.status)} for r in decided]
        return {"pending": pending, "recent": recent,
                "audit_seq": desk.audit.head()[0]}

    def view(self, content: JsonObject, now: float) -> bytes | None:
        """The sealed, signed view; None when no owner has an encryption key."""
        if not self.owners:
            return None
        doc = sign_view(key=self.key, kid=self.kid, device_id=self.device_id, now=int(now),
                        enc_key=x25519_to_text(self.enc_key.public_key()),
                        pending=content["pending"], recent=content["recent"],
                        audit_seq=content["audit_seq"])
        return self._seal(doc, self.view_topic)

    def head(self, seq: int, digest: str, now: float) -> bytes | None:
        if not self.owners:
            return None
        doc = sign_head(key=self.key, kid=self.kid, device_id=self.device_id, seq=seq,
                        digest=digest, now=int(now))
        return self._seal(doc, self.head_topic)

    def _seal(self, doc: Mapping[str, Any], topic: str) -> bytes:
        return seal(json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(),
                    self.owners, device_id=self.device_id, topic=topic)

    def decide(self, desk: RequestDesk, payload: bytes, now: float) -> DecisionRow:
        """Open a sealed decision and hand it to the desk; refused (and audited) whole
        unless it was sealed to this device on its decisions topic."""
        try:
            plain = open_sealed(payload, self.kid, self.enc_key, device_id=self.device_id,
                                topic=self.decisions_topic)
        except EnvelopeError as exc:
            desk.refusals.record(None, {"reason": "decision_not_sealed",
                                        "detail": str(exc)[:200]}, now)
            raise DecisionRefused(Refusal.NOT_SEALED, exc.detail) from None
        return desk.decide_signed(plain, now)
