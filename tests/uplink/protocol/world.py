"""Real keys for protocol tests: a registry key, an agency key, a signed registry, a request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from uplink.protocol.fields import format_time
from uplink.protocol.keys import public_key_to_text, sign_document
from uplink.protocol.ledger import RequestLedger
from uplink.protocol.registry import Registry, RegistryStore
from uplink.protocol.validator import RequestValidator

NOW = 1_750_000_000  # 2025-06-15T15:06:40Z
DAY = 86_400
AGENCY_ID = "nypd-84"
AGENCY_KID = "nypd-84-2025"
REGISTRY_KID = "registry-2025"
REQUEST_ID = "3f2c8a4e-1b7d-4c1e-9a52-6d0f8e7b1c23"


def request_body(**top: Any) -> dict[str, Any]:
    """An unsigned valid v1 request body; keyword arguments replace top-level fields."""
    body: dict[str, Any] = {
        "type": "request",
        "protocol": 1,
        "request_id": REQUEST_ID,
        "agency": {"id": AGENCY_ID, "name": "84th Precinct"},
        "case_number": "2025-084-01234",
        "incident_type": "burglary",
        "description": "Package theft reported at 14:10.\nLooking for a person in a red coat.",
        "investigator": {"name": "Det. A. Rivera", "contact": "+1 212 555 0100"},
        "location": {"lat": "40.6928000", "lon": "-73.9903000", "radius_m": 300},
        "window": {"start": format_time(NOW - 2 * 3600), "end": format_time(NOW - 3600)},
        "issued_at": format_time(NOW - 600),
        "expires_at": format_time(NOW + 7 * DAY),
        "upload_url": "https://evidence.example.gov/tus/",
    }
    body.update(top)
    return body


def agency_entry(public_text: str, **changes: Any) -> dict[str, Any]:
    """The registry entry for the test agency; `key_*` keywords change its one key."""
    key = {"kid": AGENCY_KID, "public_key": public_text, "valid_from": format_time(NOW - 90 * DAY),
           "valid_until": format_time(NOW + 300 * DAY), "revoked": False}
    key.update({k[4:]: v for k, v in changes.items() if k.startswith("key_")})
    entry = {
        "id": AGENCY_ID, "name": "84th Precinct", "keys": [key],
        "jurisdiction": {"lat": "40.6900000", "lon": "-73.9900000", "radius_m": 20_000},
        "upload_hosts": ["evidence.example.gov", "upload.example.gov:8443"],
    }
    entry.update({k: v for k, v in changes.items() if not k.startswith("key_")})
    return entry


@dataclass
class World:
    """Keys, files and builders for one test."""

    tmp: Path
    registry_key: Ed25519PrivateKey
    agency_key: Ed25519PrivateKey
    opened: list[RequestLedger] = field(default_factory=list)

    @property
    def agency_public(self) -> str:
        return public_key_to_text(self.agency_key.public_key())

    def sign(self, body: dict[str, Any], key: Ed25519PrivateKey | None = None,
             kid: str = AGENCY_KID) -> dict[str, Any]:
        return sign_document(body, key or self.agency_key, kid)

    def payload(self, body: dict[str, Any] | None = None, **sign_args: Any) -> bytes:
        doc = self.sign(request_body() if body is None else body, **sign_args)
        return json.dumps(doc, ensure_ascii=False).encode("utf-8")

    def registry_doc(self, version: int = 3, agencies: list[dict[str, Any]] | None = None,
                     **top: Any) -> dict[str, Any]:
        body = {"type": "registry", "protocol": 1, "version": version,
                "issued_at": format_time(NOW - DAY),
                "agencies": [agency_entry(self.agency_public)] if agencies is None else agencies}
        body.update(top)
        return body

    def registry_bytes(self, version: int = 3, key: Ed25519PrivateKey | None = None,
                       **kwargs: Any) -> bytes:
        doc = sign_document(self.registry_doc(version, **kwargs), key or self.registry_key,
                            REGISTRY_KID)
        return json.dumps(doc).encode("utf-8")

    def store(self) -> RegistryStore:
        return RegistryStore(self.tmp / "registry-state.json", self.registry_key.public_key())

    def registry(self, **kwargs: Any) -> Registry:
        return self.store().accept(self.registry_bytes(**kwargs), NOW)

    def ledger(self) -> RequestLedger:
        led = RequestLedger(self.tmp / "ledger.sqlite")
        self.opened.append(led)
        return led

    def validator(self, registry: Registry | None = None, **kwargs: Any) -> RequestValidator:
        return RequestValidator(registry or self.registry(), self.ledger(), **kwargs)
