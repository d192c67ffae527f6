"""The owner's own limits on what is shown, the agency's terms, and the request topics."""

from __future__ import annotations

import json

import pytest

from config import ConfigError, parse_config
from config.mqtt import MqttConfig
from tests.uplink.desk.conftest import NOW, Device
from tests.uplink.protocol.world import request_body
from uplink.agency.compose import compose_request
from uplink.audit import AuditLog
from uplink.errors import RequestRejected
from uplink.protocol.geo import encode, topics_for
from uplink.protocol.request import OwnerPolicy, RequestTerms, parse_request

H = 3600


@pytest.mark.parametrize(("policy", "reason"), [
    (OwnerPolicy(max_window_s=30 * 60), "owner_window"),  # the test window is 1 h
    (OwnerPolicy(min_window_s=2 * H), "owner_window"),
    (OwnerPolicy(min_area_sq_mi=0.2), "owner_area"),  # the test circle: 300 m, 0.11 sq mi
    (OwnerPolicy(max_area_sq_mi=0.05), "owner_area"),
    (OwnerPolicy(agencies=frozenset({"another-pd"})), "owner_agency"),
    (OwnerPolicy(incident_types=frozenset({"Arson"})), "owner_incident"),
])
def test_requests_outside_the_owners_limits_are_kept_but_never_shown(
        device: Device, policy: OwnerPolicy, reason: str) -> None:
    clip = device.catalog.add(0, NOW - 2 * H + 60)
    desk = device.desk()
    desk.intake.policy = policy
    outcome = desk.receive(device.request(), NOW)
    assert outcome.kind == "outside_policy" and outcome.request_id is not None
    assert desk.pending(NOW) == []
    assert desk.get(outcome.request_id).clips == ()
    assert clip not in device.catalog.held, "nothing is held for a request never shown"
    with AuditLog(device.tmp / "audit.sqlite3") as audit:
        entries = list(audit.entries())
    assert [e.kind for e in entries] == ["received"]
    assert json.loads(entries[0].detail)["not_shown"]["reason"] == reason


def test_requests_inside_the_owners_limits_are_shown(device: Device) -> None:
    device.catalog.add(0, NOW - 2 * H + 60)
    desk = device.desk()
    desk.intake.policy = OwnerPolicy(min_window_s=H, max_window_s=H,
                                     agencies=frozenset({"nypd-84"}),
                                     incident_types=frozenset({"BURGLARY"}), max_area_sq_mi=0.2)
    assert parse_request(device.request()).incident_type == "burglary"
    assert desk.receive(device.request(), NOW).kind == "pending"


@pytest.mark.parametrize(("line", "fragment"), [
    ("min_window_minutes = 10", "between 15 and 720"),
    ("max_window_minutes = 800", "between 15 and 720"),
    ("min_area_sq_mi = 0.01", "between 0.025 and 0.5"),
    ("max_area_sq_mi = 1.0", "between 0.025 and 0.5"),
    ('accept_agencies = ["NYPD 84"]', "agency ids"),
])
def test_limits_looser_than_the_protocol_are_refused_at_load(line: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        parse_config(f"[uplink]\n{line}\n")
    tight = parse_config("[uplink]\nmin_window_minutes = 60\nmax_area_sq_mi = 0.1\n")
    assert (tight.uplink.min_window_minutes, tight.uplink.max_area_sq_mi) == (60, 0.1)


def test_terms_are_signed_shown_and_checked(device: Device) -> None:
    key = device.world.agency_key
    doc = compose_request(
        key=key, kid="nypd-84-2025", agency_id="nypd-84", agency_name="84th Precinct",
        case_number="c-1", incident_type="burglary", description="d", investigator="i",
        contact="c", lat=40.6928, lon=-73.9903, radius_m=300, start=NOW - 2 * H,
        end=NOW - H, upload_url=device.receiver.url, now=NOW,
        terms=RequestTerms(30, True, "Deleted after the trial.\nNot published."))
    req = parse_request(json.dumps(doc).encode())
    assert req.terms == RequestTerms(30, True, "Deleted after the trial.\nNot published.")
    device.catalog.add(0, NOW - 2 * H + 60)
    desk = device.desk()
    outcome = desk.receive(json.dumps(doc).encode(), NOW)
    assert outcome.kind == "pending" and outcome.request_id is not None
    assert desk.get(outcome.request_id).public["terms"] == {
        "retention_days": 30, "no_onward_sharing": True,
        "text": "Deleted after the trial.\nNot published."}
    # Signed: changing the terms breaks the signature.
    doc["terms"]["retention_days"] = 3650
    doc["request_id"] = "00000000-0000-4000-8000-000000000001"
    assert desk.receive(json.dumps(doc).encode(), NOW).reason == "bad_signature"


@pytest.mark.parametrize("terms", [
    {"retention_days": 0, "no_onward_sharing": True},
    {"retention_days": 30},
    {"retention_days": 30, "no_onward_sharing": "yes"},
    {"retention_days": 30, "no_onward_sharing": True, "text": "x" * 1001},
    {"retention_days": 30, "no_onward_sharing": True, "text": "a\u202eb"},
    {"retention_days": 30, "no_onward_sharing": True, "extra": 1},
])
def test_malformed_terms_are_rejected(terms: dict[str, object]) -> None:
    with pytest.raises(RequestRejected) as info:
        parse_request(json.dumps(request_body(terms=terms)).encode())
    assert info.value.reason == "schema"


def test_request_topics_follow_the_topic_prefix() -> None:
    cell = encode(40.6930, -73.9905, 5)
    assert topics_for(40.6930, -73.9905)[0] == f"doorcam/v1/requests/{cell}"
    base = MqttConfig(topic_prefix="town/doorcams").requests_topic_base()
    topics = topics_for(40.6930, -73.9905, base)
    assert topics == [f"town/doorcams/requests/{cell}"]
