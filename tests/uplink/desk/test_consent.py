"""Consent end to end inside the uplink: nothing leaves without the owner's decision."""

from __future__ import annotations

import json

import pytest

from tests.uplink.desk.conftest import NOW, Device
from uplink.agency.verify import verify_evidence
from uplink.audit import AuditLog
from uplink.errors import DecisionRefused
from uplink.protocol.evidence import MANIFEST_NAME
from uplink.protocol.keys import generate_keypair

H = 3600


def _three_clips(dev: Device) -> list[str]:
    ids = [dev.catalog.add(i, NOW - 2 * H + 600 * (i + 1)) for i in range(3)]
    dev.catalog.add(9, NOW - 5 * H)  # outside the window: never matched
    return ids


def _received(dev: Device) -> dict[str, bytes]:
    return {u.metadata["clip_id"]: u.path.read_bytes()
            for u in dev.receiver.completed().values()}


def test_accept_two_of_three_uploads_exactly_those_with_a_valid_manifest(device: Device) -> None:
    ids = _three_clips(device)
    desk, worker = device.desk(), device.worker()
    outcome = desk.receive(device.request(), NOW)
    assert outcome.kind == "pending"
    row = desk.get(outcome.request_id)
    assert sorted(c.clip_id for c in row.clips) == sorted(ids)
    assert all(device.catalog.held[i] for i in ids)
    assert worker.run_once() == []
    assert device.receiver.connections == 0, "nothing may leave before a decision"

    desk.accept(row.request_id, ids[:2], NOW + 60)
    reports = worker.run_once()
    assert [r.done for r in reports] == [True]
    got = _received(device)
    assert set(got) == {ids[0], ids[1], "manifest"}
    for cid in ids[:2]:
        assert got[cid] == device.catalog.path(cid).read_bytes()
    files = {u.metadata["clip_id"]: u.path for u in device.receiver.completed().values()}
    report = verify_evidence(got["manifest"], files)
    assert report.ok and sorted(report.verified_clips) == sorted(ids[:2]), report.problems
    manifest = json.loads(got["manifest"])
    assert manifest["request_id"] == row.request_id and manifest["device_id"] == "porch-1"
    assert {u.metadata["filename"] for u in device.receiver.completed().values()} == {
        f"{ids[0]}.mp4", f"{ids[1]}.mp4", MANIFEST_NAME}
    assert not any(device.catalog.held[i] for i in ids), "holds released after upload"
    assert desk.get(row.request_id).status == "uploaded"
    with AuditLog(device.tmp / "audit.sqlite3") as audit:
        kinds = [e.kind for e in audit.entries()]
        receipt = json.loads(list(audit.entries())[-1].detail)
        assert audit.verify().ok
    assert kinds == ["received", "shown", "accepted", "uploaded", "receipt"]
    assert receipt["ok"] is True, receipt
    assert worker.run_once() == [], "done means done: nothing is sent twice"


@pytest.mark.parametrize("ending", ["nothing", "decline", "expire"])
def test_no_decision_decline_or_expiry_send_zero_bytes(device: Device, ending: str) -> None:
    ids = _three_clips(device)
    desk, worker = device.desk(), device.worker()
    rid = desk.receive(device.request(), NOW).request_id
    if ending == "decline":
        desk.decline(rid, NOW + 10)
    elif ending == "expire":
        assert desk.expire(NOW + 8 * 86400) == [rid]
        with pytest.raises(DecisionRefused, match="not_pending"):
            desk.accept(rid, None, NOW + 8 * 86400)
    worker.run_once()
    assert device.receiver.connections == 0
    if ending != "nothing":
        assert not any(device.catalog.held[i] for i in ids)


@pytest.mark.parametrize("case", ["unsigned", "bad_signature", "unknown_agency", "replayed",
                                  "insecure_url", "host_not_allowed"])
def test_spoofed_requests_are_never_shown_and_send_nothing(device: Device, case: str) -> None:
    _three_clips(device)
    desk, worker = device.desk(), device.worker()
    payload = device.request()
    if case == "unsigned":
        doc = json.loads(payload)
        del doc["sig"]
        payload = json.dumps(doc).encode()
    elif case == "bad_signature":
        payload = device.world.payload(json.loads(payload) | {"case_number": "X"},
                                       key=generate_keypair()[0])
    elif case == "unknown_agency":
        doc = json.loads(payload)
        doc.pop("sig")
        doc["agency"] = {"id": "someone-else", "name": "84th Precinct"}
        payload = device.world.payload(doc)
    elif case == "replayed":
        assert desk.receive(payload, NOW).kind == "pending"
        rid = json.loads(payload)["request_id"]
        desk.decline(rid, NOW)
        doc = json.loads(payload)
        doc.pop("sig")
        doc["description"] = "changed"
        payload = device.world.payload(doc)  # same id, new body
    elif case in ("insecure_url", "host_not_allowed"):
        doc = json.loads(payload)
        doc.pop("sig")
        doc["upload_url"] = (doc["upload_url"].replace("127.0.0.1", "localhost")
                             if case == "host_not_allowed" else "http://evidence.example.gov/")
        payload = device.world.payload(doc)
    before = len(desk.pending(NOW))
    outcome = desk.receive(payload, NOW)
    assert outcome.kind == "rejected", outcome
    assert len(desk.pending(NOW)) == before == 0
    worker.run_once()
    assert device.receiver.connections == 0


def test_owner_decision_over_mqtt_must_be_signed_exact_and_fresh(device: Device) -> None:
    ids = _three_clips(device)
    desk, worker = device.desk(), device.worker()
    rid = desk.receive(device.request(), NOW).request_id
    sha = {c.clip_id: c.sha256 for c in desk.get(rid).clips}
    pick = [(ids[0], sha[ids[0]])]
    refused = {
        "unknown_key": device.owner_decision(rid, pick, key=generate_keypair()[0], kid="thief"),
        "bad_signature": device.owner_decision(rid, pick, key=generate_keypair()[0]),
        "clip_not_matched": device.owner_decision(rid, [(ids[0], "0" * 64)]),
        "wrong_destination": device.owner_decision(rid, pick,
                                                   destination="https://evil.example/"),
        "stale": device.owner_decision(rid, pick, issued_at="2025-06-14T00:00:00Z"),
        "wrong_device": device.owner_decision(rid, pick, device_id="porch-2"),
        "bad_document": b'{"type": "decision", "protocol": 1',
    }
    for reason, payload in refused.items():
        with pytest.raises(DecisionRefused) as info:
            desk.decide_signed(payload, NOW + 5)
        assert info.value.reason == reason, (reason, info.value)
    worker.run_once()
    assert device.receiver.connections == 0
    good = device.owner_decision(rid, pick)
    desk.decide_signed(good, NOW + 5)
    with pytest.raises(DecisionRefused, match="replayed"):
        desk.decide_signed(good, NOW + 6)
    assert worker.run_once()[0].done
    assert set(_received(device)) == {ids[0], "manifest"}


def test_restart_between_accept_and_upload_uploads_once(device: Device) -> None:
    ids = _three_clips(device)
    desk = device.desk()
    payload = device.request()
    rid = desk.receive(payload, NOW).request_id
    assert [r.request_id for r in desk.pending(NOW)] == [rid]
    desk.accept(rid, ids[1:], NOW)
    device.close()  # the daemon restarts
    desk, worker = device.desk(), device.worker()
    assert desk.receive(payload, NOW).kind == "duplicate", "a redelivery is not shown again"
    assert desk.pending(NOW) == []
    assert worker.run_once()[0].done
    assert worker.run_once() == []
    got = _received(device)
    assert set(got) == {ids[1], ids[2], "manifest"}
    assert len(device.receiver.completed()) == 3


def test_a_request_checked_but_not_stored_is_received_later(device: Device) -> None:
    _three_clips(device)
    desk = device.desk()
    payload = device.request()
    # Checking writes nothing: the id is claimed only together with the stored request.
    desk.intake.validator.validate(payload, NOW)
    outcome = desk.receive(payload, NOW)
    assert outcome.kind == "pending", outcome


def test_a_clip_under_two_requests_stays_held_until_both_are_done(device: Device) -> None:
    ids = _three_clips(device)
    desk = device.desk()
    first = desk.receive(device.request(), NOW).request_id
    second = desk.receive(device.request(), NOW).request_id
    desk.decline(first, NOW)
    assert all(device.catalog.held[i] for i in ids)
    desk.decline(second, NOW)
    assert not any(device.catalog.held[i] for i in ids)


def test_request_outside_the_device_area_or_without_clips_is_not_shown(device: Device) -> None:
    desk = device.desk()
    assert desk.receive(device.request(), NOW).kind == "no_clips"
    far = device.request(location={"lat": "40.7300000", "lon": "-73.9900000", "radius_m": 300})
    assert desk.receive(far, NOW).kind == "not_here"
    assert desk.pending(NOW) == []
