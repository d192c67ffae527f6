"""Every rejection reason, each with a real signed request against a real signed registry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.uplink.protocol.world import (
    AGENCY_ID,
    AGENCY_KID,
    DAY,
    NOW,
    REQUEST_ID,
    World,
    agency_entry,
    request_body,
)
from uplink.errors import REJECT_REASONS, RequestRejected
from uplink.protocol.fields import format_time
from uplink.protocol.keys import generate_keypair
from uplink.protocol.validator import RequestValidator, VerifiedRequest


def rejected(validator: RequestValidator, payload: bytes, reason: str, now: float = NOW) -> str:
    with pytest.raises(RequestRejected) as info:
        validator.validate(payload, now)
    assert info.value.reason == reason, info.value
    return info.value.detail


def test_valid_request_is_accepted(world: World) -> None:
    verified = world.validator().validate(world.payload(), NOW)
    assert verified.request.request_id == REQUEST_ID
    assert verified.agency.agency_id == AGENCY_ID
    assert (verified.destination.host, verified.destination.port) == ("evidence.example.gov", 443)


def test_allowed_port_listed_in_registry(world: World) -> None:
    body = request_body(upload_url="https://upload.example.gov:8443/files")
    assert world.validator().validate(world.payload(body), NOW).destination.port == 8443


CASES: list[tuple[dict[str, Any], str]] = [
    ({"window": {"start": format_time(NOW - 7200), "end": format_time(NOW - 7200 + 899)}},
     "policy_window"),
    ({"window": {"start": format_time(NOW - 12 * 3600 - 3601), "end": format_time(NOW - 3600)}},
     "policy_window"),
    ({"location": {"lat": "40.6928000", "lon": "-73.9903000", "radius_m": 143}}, "policy_area"),
    ({"location": {"lat": "40.6928000", "lon": "-73.9903000", "radius_m": 643}}, "policy_area"),
    ({"expires_at": format_time(NOW - 600 + 30 * DAY + 1)}, "policy_expiry"),
    ({"expires_at": format_time(NOW - 600)}, "policy_expiry"),
    ({"window": {"start": format_time(NOW - 1800), "end": format_time(NOW + 301)}},
     "window_future"),
    ({"issued_at": format_time(NOW + 301)}, "not_yet_valid"),
    ({"issued_at": format_time(NOW - 2 * DAY), "expires_at": format_time(NOW)}, "expired"),
    ({"upload_url": "http://evidence.example.gov/tus/"}, "insecure_url"),
    ({"upload_url": "https://user@evidence.example.gov/tus/"}, "insecure_url"),
    ({"upload_url": "https://evil.example.com/tus/"}, "host_not_allowed"),
    ({"upload_url": "https://evidence.example.gov:8443/tus/"}, "host_not_allowed"),
    ({"location": {"lat": "41.6928000", "lon": "-73.9903000", "radius_m": 300}},
     "outside_jurisdiction"),
    ({"agency": {"id": "someone-else", "name": "84th Precinct"}}, "unknown_agency"),
    ({"agency": {"id": AGENCY_ID, "name": "FBI"}}, "unknown_agency"),
    ({"protocol": 2}, "unsupported_version"),
    ({"surprise": "field"}, "schema"),
]
# Reasons with a test of their own below (registry_expired: tests/uplink/test_registry_lifecycle).
DEDICATED = {"unsigned", "bad_signature", "unknown_key", "revoked_key", "key_not_valid",
             "replayed", "oversized", "bad_utf8", "bad_json",
             # the owner's own limits (tests/uplink/desk/test_owner_limits.py) and the
             # agency's receipt (tests/uplink/desk/test_scope.py)
             "owner_window", "owner_area", "owner_agency", "owner_incident", "bad_receipt",
             "incomplete_receipt", "registry_expired"}


@pytest.mark.parametrize(("change", "reason"), CASES)
def test_signed_request_rejected_for(world: World, change: dict[str, Any], reason: str) -> None:
    rejected(world.validator(), world.payload(request_body(**change)), reason)


def test_policy_is_checked_before_the_signature(world: World) -> None:
    body = request_body(location={"lat": "40.6928000", "lon": "-73.9903000", "radius_m": 2000})
    doc = world.sign(body)
    doc["sig"] = "A" * 86
    rejected(world.validator(), json.dumps(doc).encode(), "policy_area")


def test_unsigned(world: World) -> None:
    rejected(world.validator(), json.dumps(request_body()).encode(), "unsigned")
    doc = world.sign(request_body())
    del doc["sig"]
    rejected(world.validator(), json.dumps(doc).encode(), "unsigned")


def test_signed_by_another_key(world: World) -> None:
    stranger = generate_keypair()[0]
    rejected(world.validator(), world.payload(key=stranger), "bad_signature")


def test_tampered_after_signing(world: World) -> None:
    doc = world.sign(request_body())
    doc["case_number"] = "2025-084-99999"
    rejected(world.validator(), json.dumps(doc).encode(), "bad_signature")


def test_unknown_kid(world: World) -> None:
    rejected(world.validator(), world.payload(kid="nypd-84-1999"), "unknown_key")


def test_revoked_key(world: World) -> None:
    registry = world.registry(agencies=[agency_entry(world.agency_public, key_revoked=True)])
    rejected(world.validator(registry), world.payload(), "revoked_key")


@pytest.mark.parametrize(("valid_from", "valid_until"), [
    (NOW - 100, NOW + DAY),  # not yet valid when the request was issued (NOW - 600)
    (NOW - 90 * DAY, NOW - 1),  # expired before now
])
def test_key_outside_its_validity(world: World, valid_from: int, valid_until: int) -> None:
    entry = agency_entry(world.agency_public, key_valid_from=format_time(valid_from),
                         key_valid_until=format_time(valid_until))
    registry = world.registry(agencies=[entry])
    rejected(world.validator(registry), world.payload(), "key_not_valid")


def _store(world: World, verified: VerifiedRequest) -> None:
    """What the request desk does with a verified request: claim its id (with the request)."""
    req = verified.request
    world.opened[-1].record(req.request_id, req.body_sha256, NOW)


def test_replay_is_refused_across_a_restart(world: World) -> None:
    registry = world.registry()
    payload = world.payload()
    _store(world, world.validator(registry).validate(payload, NOW))
    world.opened.pop().close()  # the device restarts: a new ledger object on the same file
    detail = rejected(world.validator(registry), payload, "replayed", now=NOW + 60)
    assert "same body" in detail


def test_other_body_under_a_seen_id_is_refused(world: World) -> None:
    validator = world.validator()
    _store(world, validator.validate(world.payload(), NOW))
    other = world.payload(request_body(case_number="2025-084-55555"))
    assert "DIFFERENT" in rejected(validator, other, "replayed")


def test_checking_writes_nothing_to_the_ledger(world: World) -> None:
    validator = world.validator()
    for at in (NOW, NOW + 60):  # a request checked but never stored claims no id
        assert validator.validate(world.payload(), at).request.request_id == REQUEST_ID
    assert len(world.opened[-1]) == 0


def test_rejected_requests_do_not_claim_their_id(world: World) -> None:
    validator = world.validator()
    rejected(validator, world.payload(key=generate_keypair()[0]), "bad_signature")
    assert validator.validate(world.payload(), NOW).request.request_id == REQUEST_ID


def test_oversized_and_garbage(world: World) -> None:
    validator = world.validator()
    rejected(validator, b" " * (64 * 1024 + 1), "oversized")
    rejected(validator, b"\xff\xfe{}", "bad_utf8")
    rejected(validator, b"{", "bad_json")
    rejected(validator, b"[" * 60_000, "bad_json")
    rejected(validator, b"{\"a\":" * 10_000 + b"1" + b"}" * 10_000, "bad_json")


def test_http_loopback_only_with_the_dev_flag(world: World) -> None:
    entry = agency_entry(world.agency_public, upload_hosts=["127.0.0.1:8080"])
    registry = world.registry(agencies=[entry])
    payload = world.payload(request_body(upload_url="http://127.0.0.1:8080/files"))
    rejected(world.validator(registry), payload, "insecure_url")
    ok = world.validator(registry, allow_insecure_loopback=True).validate(payload, NOW)
    assert ok.destination.scheme == "http"


def test_kid_is_covered_by_the_signature(world: World) -> None:
    doc = world.sign(request_body())
    doc["kid"] = AGENCY_KID + "x"
    entry = agency_entry(world.agency_public, key_kid=AGENCY_KID + "x")
    rejected(world.validator(world.registry(agencies=[entry])), json.dumps(doc).encode(),
             "bad_signature")


def test_every_reason_has_a_case() -> None:
    assert {reason for _, reason in CASES} | DEDICATED == REJECT_REASONS
