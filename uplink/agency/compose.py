"""Build and sign the documents of docs/protocol.md from plain arguments."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from uplink.protocol import owner as protocol_owner
from uplink.protocol import public_key_to_text, sign_document
from uplink.protocol.fields import format_time
from uplink.protocol.request import RequestTerms, check_policy, request_from_document


@dataclass(frozen=True)
class AgencySpec:
    """One registry entry: an agency, its signing keys and where its uploads may go."""

    agency_id: str
    name: str
    keys: Sequence[tuple[str, str]]  # (kid, base64url public key)
    upload_hosts: Sequence[str]
    lat: float
    lon: float
    radius_m: int
    valid_from: int = 0
    valid_until: int = 0
    revoked: Sequence[str] = field(default_factory=tuple)

    def document(self, now: int) -> dict[str, Any]:
        start = self.valid_from or now - 86400
        until = self.valid_until or now + 365 * 86400
        return {
            "id": self.agency_id, "name": self.name, "upload_hosts": list(self.upload_hosts),
            "jurisdiction": {"lat": f"{self.lat:.7f}", "lon": f"{self.lon:.7f}",
                             "radius_m": int(self.radius_m)},
            "keys": [{"kid": kid, "public_key": text, "valid_from": format_time(start),
                      "valid_until": format_time(until), "revoked": kid in self.revoked}
                     for kid, text in self.keys],
        }


def sign_registry(agencies: Sequence[AgencySpec], key: Ed25519PrivateKey, kid: str, *,
                  version: int, now: int) -> dict[str, Any]:
    body = {"type": "registry", "protocol": 1, "version": int(version),
            "issued_at": format_time(now), "agencies": [a.document(now) for a in agencies]}
    return sign_document(body, key, kid)


def compose_request(*, key: Ed25519PrivateKey, kid: str, agency_id: str, agency_name: str,
                    case_number: str, incident_type: str, description: str,
                    investigator: str, contact: str, lat: float, lon: float, radius_m: int,
                    start: int, end: int, upload_url: str, now: int,
                    expires_in: int = 7 * 86400, request_id: str | None = None,
                    terms: RequestTerms | None = None) -> dict[str, Any]:
    """A signed request; raises RequestRejected (with the policy reason) if it would be
    refused by every device for breaking the policy limits."""
    body = {
        "type": "request", "protocol": 1, "request_id": request_id or str(uuid.uuid4()),
        "agency": {"id": agency_id, "name": agency_name}, "case_number": case_number,
        "incident_type": incident_type, "description": description,
        "investigator": {"name": investigator, "contact": contact},
        "location": {"lat": f"{lat:.7f}", "lon": f"{lon:.7f}", "radius_m": int(radius_m)},
        "window": {"start": format_time(start), "end": format_time(end)},
        "issued_at": format_time(now), "expires_at": format_time(now + expires_in),
        "upload_url": upload_url,
    }
    if terms is not None:
        body["terms"] = {"retention_days": terms.retention_days,
                         "no_onward_sharing": terms.no_onward_sharing,
                         **({"text": terms.text} if terms.text else {})}
    doc = sign_document(body, key, kid)
    check_policy(request_from_document(doc), now)
    return doc


def owner_decision(*, key: Ed25519PrivateKey, kid: str, device_id: str, request_id: str,
                   request_sha256: str, verdict: str, clips: Sequence[tuple[str, str]],
                   destination: str, now: int) -> dict[str, Any]:
    """A signed owner decision for the device's MQTT decisions topic (seal it to the device)."""
    return protocol_owner.owner_decision(
        key=key, kid=kid, device_id=device_id, request_id=request_id,
        request_sha256=request_sha256, verdict=verdict, clips=clips, destination=destination,
        now=now)


def public_text(key: Ed25519PrivateKey) -> str:
    return public_key_to_text(key.public_key())
