"""An accepted request is sent only while the agency registry in force still backs it: a
registry installed after the decision that drops the agency, its upload host or the key that
signed the request stops the upload before any connection, for good, audited, holds released.
Without a readable registry nothing is sent either, but the upload waits for one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.uplink.desk.conftest import NOW, Device
from tests.uplink.protocol.world import agency_entry
from uplink.audit import AuditLog

H = 3600


def _accepted(device: Device) -> tuple[str, list[str]]:
    ids = [device.catalog.add(i, NOW - 2 * H + 600 * (i + 1)) for i in range(2)]
    desk = device.desk()
    rid = desk.receive(device.request(), NOW).request_id
    assert rid is not None
    desk.accept(rid, None, NOW)
    assert all(device.catalog.held[i] for i in ids)
    return rid, ids


def _host(device: Device) -> str:
    return device.receiver.url.split("/")[2]


def _failed(device: Device, rid: str) -> list[dict[str, Any]]:
    with AuditLog(device.tmp / "audit.sqlite3") as audit:
        assert audit.verify().ok
        return [json.loads(e.detail) for e in audit.entries()
                if e.request_id == rid and e.kind == "failed"]


CHANGES = {
    "agency dropped": lambda d: {"agencies": [agency_entry(
        d.world.agency_public, id="another-pd", upload_hosts=[_host(d)])]},
    "host dropped": lambda d: {"agencies": [agency_entry(
        d.world.agency_public, upload_hosts=["evidence.example.gov"])]},
    "key revoked": lambda d: {"agencies": [agency_entry(
        d.world.agency_public, upload_hosts=[_host(d)], key_revoked=True)]},
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_registry_withdrawing_the_destination_stops_the_upload_before_any_byte(
        device: Device, change: str) -> None:
    rid, ids = _accepted(device)
    device.registry = device.world.registry(version=4, **CHANGES[change](device))
    [report] = device.worker(NOW + 60).run_once()
    assert not report.done and report.uploaded == ()
    assert "nothing more is sent" in (report.error or ""), report.error
    assert device.receiver.connections == 0, "not one connection to the withdrawn destination"
    desk = device.desk()
    assert desk.get(rid).status == "failed"
    assert not any(device.catalog.held[i] for i in ids), "holds released as for a refusal"
    [entry] = _failed(device, rid)
    assert entry["permanent"] is True
    assert device.worker(NOW + 120).run_once() == [], "failed for good: never tried again"
    assert device.receiver.connections == 0


def test_a_registry_withdrawing_the_destination_mid_upload_sends_nothing_more(
        device: Device) -> None:
    rid, ids = _accepted(device)
    sent: list[str] = []
    worker = device.worker(NOW + 60)
    # The first round is cut short after one clip; a registry revoking the key comes meanwhile.
    original = worker.book.mark_uploaded

    def revoke_after_first(request_id: str, uploaded: list[str]) -> None:
        original(request_id, uploaded)
        sent.extend(uploaded)
        device.registry = device.world.registry(version=4, agencies=[agency_entry(
            device.world.agency_public, upload_hosts=[_host(device)], key_revoked=True)])
        raise OSError("power cut after the first clip")

    worker.book.mark_uploaded = revoke_after_first  # type: ignore[method-assign]
    [first] = worker.run_once()
    assert not first.done and sent == [ids[0]], "precondition: one clip went before the change"
    before = device.receiver.connections
    assert before > 0

    [report] = device.worker(NOW + 120).run_once()
    assert not report.done and "revoked" in (report.error or "")
    assert device.receiver.connections == before, "no connection after the revocation"
    assert set(device.receiver.completed()) and all(
        u.metadata["clip_id"] == ids[0] for u in device.receiver.completed().values())
    assert device.desk().get(rid).status == "failed"


def test_without_a_readable_registry_nothing_is_sent_and_the_upload_waits(
        device: Device) -> None:
    rid, _ = _accepted(device)
    [report] = device.worker(NOW + 60, agencies=lambda: None).run_once()
    assert not report.done and "no valid agency registry" in (report.error or "")
    assert device.receiver.connections == 0
    assert device.desk().get(rid).status == "accepted", "kept: a registry may come"
    [entry] = _failed(device, rid)
    assert entry["permanent"] is False

    [report] = device.worker(NOW + 120).run_once()
    assert report.done, report.error
    assert device.desk().get(rid).status == "uploaded"
