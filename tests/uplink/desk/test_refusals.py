"""A flood of refused messages is counted, not written one by one: each audit entry is a
synced write, and anyone who can publish on the agency broker can send junk."""

from __future__ import annotations

import json

import pytest

from tests.uplink.desk.conftest import Device
from tests.uplink.protocol.world import NOW
from uplink.audit import AuditKind, AuditLog
from uplink.desk import Received
from uplink.desk.refusals import PER_WINDOW, UNWRITTEN, WINDOW_S
from uplink.errors import DecisionRefused


def rejected(device: Device) -> list[dict[str, object]]:
    with AuditLog(device.tmp / "audit.sqlite3") as audit:
        return [json.loads(e.detail) for e in audit.entries()
                if e.kind == AuditKind.REJECTED.value]


def test_a_flood_is_counted_in_one_entry_and_requests_still_arrive(device: Device) -> None:
    desk = device.desk()
    t = float(NOW)
    extra = 25
    for i in range(PER_WINDOW + extra):
        junk = b"{not json" if i % 2 else b'{"type": "request"}'
        assert desk.receive(junk, t + i).kind == Received.REJECTED
    assert len(rejected(device)) == PER_WINDOW  # one by one up to the bound, then counted
    heard = desk.receive(device.request(), t + 100)  # a real request is still taken
    assert heard.kind not in (Received.REJECTED, Received.DUPLICATE), heard
    assert desk.expire(t + WINDOW_S - 1) == [] and len(rejected(device)) == PER_WINDOW
    desk.expire(t + WINDOW_S)  # the hour is over: its count is written
    summary = rejected(device)[-1]
    assert summary["reason"] == UNWRITTEN and summary["count"] == extra
    assert sum(summary["reasons"].values()) == extra  # type: ignore[attr-defined]
    assert desk.receive(b"{not json", t + WINDOW_S + 1).kind == Received.REJECTED
    assert len(rejected(device)) == PER_WINDOW + 2  # written one by one again
    with AuditLog(device.tmp / "audit.sqlite3") as audit:
        assert audit.verify().ok


def test_refused_owner_decisions_share_the_bound(device: Device) -> None:
    desk = device.desk()
    t = float(NOW)
    for i in range(PER_WINDOW):
        desk.receive(b"junk", t + i)
    with pytest.raises(DecisionRefused):  # refused, as before
        desk.decide_signed(b'{"type": "decision"}', t + PER_WINDOW)
    assert len(rejected(device)) == PER_WINDOW
    desk.expire(t + WINDOW_S)
    summary = rejected(device)[-1]
    assert summary["count"] == 1 and "decision_bad_document" in summary["reasons"]  # type: ignore[operator]
