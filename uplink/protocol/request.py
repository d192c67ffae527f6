"""The v1 "Request for Assistance": its schema, the owner's policy limits, and matching."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Final

from uplink.errors import RequestRejected
from uplink.protocol.canonical import JsonObject, canonical_bytes, parse_json
from uplink.protocol.fields import ID_RE, UUID_RE, Fields
from uplink.protocol.geo import distance_m
from uplink.protocol.keys import KID_RE

PROTOCOL_VERSION: Final = 1
REQUEST_TYPE: Final = "request"
MAX_REQUEST_BYTES: Final = 64 * 1024
MAX_REQUEST_DEPTH: Final = 3

MIN_WINDOW_S: Final = 15 * 60
MAX_WINDOW_S: Final = 12 * 3600
SQ_MILE_M2: Final = 1609.344**2
MIN_AREA_SQ_MI: Final = 0.025
MAX_AREA_SQ_MI: Final = 0.5
MAX_EXPIRY_S: Final = 30 * 24 * 3600
CLOCK_SKEW_S: Final = 300

# Upper bounds for a radius that can never pass policy; the schema only keeps ints sane.
MAX_RADIUS_FIELD_M: Final = 100_000
MAX_TERMS_TEXT: Final = 1000
MAX_RETENTION_DAYS: Final = 36500


@dataclass(frozen=True)
class RequestTerms:
    """What the agency promises about the footage (optional, signed with the request)."""

    retention_days: int  # kept at most this long
    no_onward_sharing: bool  # not passed to anyone else
    text: str = ""

    def public(self) -> dict[str, Any]:
        return {"retention_days": self.retention_days,
                "no_onward_sharing": self.no_onward_sharing, "text": self.text}


@dataclass(frozen=True)
class OwnerPolicy:
    """The owner's own limits, only ever tighter than the protocol's (config [uplink])."""

    min_window_s: int = MIN_WINDOW_S
    max_window_s: int = MAX_WINDOW_S
    min_area_sq_mi: float = MIN_AREA_SQ_MI
    max_area_sq_mi: float = MAX_AREA_SQ_MI
    agencies: frozenset[str] = frozenset()  # empty: every agency the registry lists
    incident_types: frozenset[str] = frozenset()  # empty: every type; compared casefolded


@dataclass(frozen=True)
class AgencyRequest:
    """A request that passed schema checks; times are UTC epoch seconds."""

    request_id: str
    agency_id: str
    agency_name: str
    case_number: str
    incident_type: str
    description: str
    investigator_name: str
    investigator_contact: str
    lat: float
    lon: float
    radius_m: int
    window_start: int
    window_end: int
    issued_at: int
    expires_at: int
    upload_url: str
    kid: str
    document: JsonObject = field(repr=False, compare=False)
    terms: RequestTerms | None = None

    @property
    def body_sha256(self) -> str:
        """Hex SHA-256 of the canonical signed body (the document without `sig`)."""
        body = {k: v for k, v in self.document.items() if k != "sig"}
        return hashlib.sha256(canonical_bytes(body)).hexdigest()


def parse_request(payload: bytes) -> AgencyRequest:
    """Parse and schema-check untrusted bytes; raises only `RequestRejected`."""
    doc = parse_json(payload, max_bytes=MAX_REQUEST_BYTES, max_depth=MAX_REQUEST_DEPTH)
    return request_from_document(doc)


def request_from_document(doc: JsonObject) -> AgencyRequest:
    """Schema-check an already parsed document (see docs/protocol.md for each field)."""
    f = Fields(doc, "$")
    if f.get("type", str) != REQUEST_TYPE:
        raise f.fail("type", f"must be {REQUEST_TYPE!r}")
    if f.integer("protocol", 0, 2**31) != PROTOCOL_VERSION:
        raise RequestRejected("unsupported_version", f"protocol {doc['protocol']} is not 1")
    agency, person = f.nested("agency"), f.nested("investigator")
    where, window = f.nested("location"), f.nested("window")
    terms = f.nested("terms") if "terms" in doc else None
    f.used.add("sig")  # checked by verify_document, so that a missing one reads "unsigned"
    req = AgencyRequest(
        request_id=f.text("request_id", 36, pattern=UUID_RE),
        agency_id=agency.text("id", 64, pattern=ID_RE),
        agency_name=agency.text("name", 200),
        case_number=f.text("case_number", 64),
        incident_type=f.text("incident_type", 64),
        description=f.text("description", 2000, multiline=True),
        investigator_name=person.text("name", 200),
        investigator_contact=person.text("contact", 200),
        lat=where.decimal("lat", 90),
        lon=where.decimal("lon", 180),
        radius_m=where.integer("radius_m", 1, MAX_RADIUS_FIELD_M),
        window_start=window.time("start"),
        window_end=window.time("end"),
        issued_at=f.time("issued_at"),
        expires_at=f.time("expires_at"),
        upload_url=f.text("upload_url", 2048),
        kid=f.text("kid", 64, pattern=KID_RE) if "kid" in doc else "",
        document=doc,
        terms=None if terms is None else RequestTerms(
            retention_days=terms.integer("retention_days", 1, MAX_RETENTION_DAYS),
            no_onward_sharing=terms.flag("no_onward_sharing"),
            text=terms.text("text", MAX_TERMS_TEXT, multiline=True)
            if "text" in terms.obj else ""),
    )
    for part in (f, agency, person, where, window, *([terms] if terms else [])):
        part.done()
    return req


def area_sq_miles(radius_m: float) -> float:
    """Area of the request circle in square miles."""
    return math.pi * radius_m**2 / SQ_MILE_M2


def check_policy(req: AgencyRequest, now: float, skew_s: int = CLOCK_SKEW_S) -> None:
    """The owner's limits, checked before any signature; `RequestRejected` says which."""
    span = req.window_end - req.window_start
    if not MIN_WINDOW_S <= span <= MAX_WINDOW_S:
        raise RequestRejected(
            "policy_window", f"window of {span} s is outside {MIN_WINDOW_S}..{MAX_WINDOW_S} s")
    area = area_sq_miles(req.radius_m)
    if not MIN_AREA_SQ_MI <= area <= MAX_AREA_SQ_MI:
        raise RequestRejected(
            "policy_area", f"radius {req.radius_m} m covers {area:.4f} sq mi, outside "
            f"{MIN_AREA_SQ_MI}..{MAX_AREA_SQ_MI}")
    life = req.expires_at - req.issued_at
    if not 0 < life <= MAX_EXPIRY_S:
        raise RequestRejected(
            "policy_expiry", f"expires {life} s after issue, outside 1..{MAX_EXPIRY_S} s")
    if req.window_end > now + skew_s:
        raise RequestRejected("window_future", "the time window has not ended yet")


def check_owner_policy(req: AgencyRequest, policy: OwnerPolicy) -> None:
    """The owner's own limits (after the protocol's); `RequestRejected` says which."""
    span = req.window_end - req.window_start
    if not policy.min_window_s <= span <= policy.max_window_s:
        raise RequestRejected("owner_window", f"window of {span} s is outside your "
                              f"{policy.min_window_s}..{policy.max_window_s} s")
    area = area_sq_miles(req.radius_m)
    if not policy.min_area_sq_mi <= area <= policy.max_area_sq_mi:
        raise RequestRejected("owner_area", f"area of {area:.4f} sq mi is outside your "
                              f"{policy.min_area_sq_mi}..{policy.max_area_sq_mi}")
    if policy.agencies and req.agency_id not in policy.agencies:
        raise RequestRejected("owner_agency", f"agency {req.agency_id} is not one you accept")
    if policy.incident_types and req.incident_type.casefold() not in {
            t.casefold() for t in policy.incident_types}:
        raise RequestRejected("owner_incident",
                              f"incident type {req.incident_type!r} is not one you accept")


def check_freshness(req: AgencyRequest, now: float, skew_s: int = CLOCK_SKEW_S) -> None:
    """Reject a request issued in the future (beyond skew) or past its expiry."""
    if req.issued_at > now + skew_s:
        raise RequestRejected("not_yet_valid", "issued in the future")
    if now >= req.expires_at:
        raise RequestRejected("expired", "the request has expired")


def location_in_area(device_lat: float, device_lon: float, request: AgencyRequest) -> bool:
    """True if the device is within the request's circle (great-circle distance ≤ radius)."""
    return distance_m(device_lat, device_lon, request.lat, request.lon) <= request.radius_m


def window_overlaps(clip_start: float, clip_end: float, request: AgencyRequest) -> bool:
    """True if the clip [start, end] (UTC epoch seconds) shares any instant with the window."""
    if not (math.isfinite(clip_start) and math.isfinite(clip_end)) or clip_end < clip_start:
        raise ValueError(f"bad clip span {clip_start!r}..{clip_end!r}")
    return clip_start <= request.window_end and clip_end >= request.window_start


def describe(req: AgencyRequest) -> dict[str, Any]:
    """The fields an owner is shown, as plain values (for prompts and the audit log)."""
    out: dict[str, Any] = {
        "request_id": req.request_id, "agency": req.agency_name, "case": req.case_number,
        "incident": req.incident_type, "radius_m": req.radius_m,
        "window": [req.window_start, req.window_end], "expires_at": req.expires_at,
    }
    if req.terms is not None:
        out["terms"] = req.terms.public()
    return out
