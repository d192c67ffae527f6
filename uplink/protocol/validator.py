"""From untrusted bytes to a request the owner may be shown, in the order the protocol fixes.

Order (docs/protocol.md, "Checks"): size and syntax, schema, the owner's policy limits, then
signature material (agency, key, signature), freshness, jurisdiction, upload URL, and last
a lookup in the replay ledger. Checking writes nothing: whoever stores a verified request
claims its id in the ledger in the same transaction (the request desk does), so only authentic
requests ever claim a request id, and a crash never leaves an id claimed but not stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from uplink.errors import RequestRejected
from uplink.protocol.keys import verify_document
from uplink.protocol.ledger import ReplayGuard, replayed
from uplink.protocol.registry import Agency, AgencyKey
from uplink.protocol.request import (
    CLOCK_SKEW_S,
    AgencyRequest,
    check_freshness,
    check_policy,
    parse_request,
)
from uplink.protocol.urls import Destination, check_upload_url


class AgencyDirectory(Protocol):
    """Looks agencies up by id (a `Registry` is one)."""

    def agency(self, agency_id: str) -> Agency | None:
        """The agency with this id, if known."""
        ...


@dataclass(frozen=True)
class VerifiedRequest:
    """A request that passed every check, with the agency and destination it resolved to."""

    request: AgencyRequest
    agency: Agency
    destination: Destination


def check_key(key: AgencyKey | None, req: AgencyRequest, now: float) -> AgencyKey:
    """The key named by the request, if it exists, is not revoked and is valid now and at issue."""
    if key is None:
        raise RequestRejected("unknown_key", f"agency {req.agency_id} has no key {req.kid!r}")
    if key.revoked:
        raise RequestRejected("revoked_key", f"key {key.kid!r} is revoked")
    for label, at in (("issue time", req.issued_at), ("now", now)):
        if not key.valid_from <= at <= key.valid_until:
            raise RequestRejected("key_not_valid", f"key {key.kid!r} is not valid at {label}")
    return key


class RequestValidator:
    """Runs every check on an incoming request, without side effects; `validate` raises only
    `RequestRejected` (or, for a broken ledger database, sqlite3.Error: the request is then
    not accepted)."""

    def __init__(self, directory: AgencyDirectory, ledger: ReplayGuard, *,
                 allow_insecure_loopback: bool = False, skew_s: int = CLOCK_SKEW_S) -> None:
        self.directory = directory
        self.ledger = ledger
        self.allow_insecure_loopback = allow_insecure_loopback
        self.skew_s = skew_s

    def validate(self, payload: bytes, now: float) -> VerifiedRequest:
        """The verified request, or `RequestRejected` with the first failing reason."""
        req = parse_request(payload)
        check_policy(req, now, self.skew_s)
        if not req.kid or not isinstance(req.document.get("sig"), str):
            raise RequestRejected("unsigned", "request has no sig or kid")
        agency = self.directory.agency(req.agency_id)
        if agency is None:
            raise RequestRejected("unknown_agency", f"agency {req.agency_id!r} is not listed")
        if agency.name != req.agency_name:
            raise RequestRejected(
                "unknown_agency", f"agency name {req.agency_name!r} differs from the registry")
        key = check_key(agency.keys.get(req.kid), req, now)
        verify_document(req.document, key.public_key)
        check_freshness(req, now, self.skew_s)
        if not agency.jurisdiction.contains_circle(req.lat, req.lon, req.radius_m):
            raise RequestRejected(
                "outside_jurisdiction", f"area is outside {agency.agency_id}'s jurisdiction")
        destination = check_upload_url(req.upload_url, agency.upload_hosts,
                                       allow_insecure_loopback=self.allow_insecure_loopback)
        known = self.ledger.seen(req.request_id)
        if known is not None:
            raise replayed(known, req.body_sha256)
        return VerifiedRequest(req, agency, destination)
