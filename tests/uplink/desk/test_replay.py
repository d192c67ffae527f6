"""The replay ledger inside the request book: checking a request claims nothing, and the desk
claims a request's id in the same transaction that stores the request, so a failure between
the two writes leaves neither and the broker's redelivery is simply received again."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from typing import Any

import pytest

from tests.uplink.desk.conftest import NOW, Device
from uplink.audit import AuditLog
from uplink.desk import RequestStatus
from uplink.desk.book import RequestBook
from uplink.desk.schema import ADDED_COLUMNS, GUARDS, TABLES
from uplink.errors import RequestRejected
from uplink.protocol.ledger import KEEP_S
from uplink.protocol.request import parse_request

H = 3600


class Crash(BaseException):
    """The process dies here: nothing after this point runs."""


@pytest.fixture
def clips(device: Device) -> list[str]:
    return [device.catalog.add(i, NOW - 2 * H + 600 * (i + 1)) for i in range(2)]


def _raw(device: Device) -> sqlite3.Connection:
    return sqlite3.connect(device.tmp / "uplink.sqlite3", isolation_level=None, timeout=10.0)


def _rows(device: Device, rid: str) -> dict[str, int]:
    """How many rows the request has in each table the desk writes when it stores one."""
    with closing(_raw(device)) as db:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t} WHERE request_id = ?",
                              (rid,)).fetchone()[0]
                for t in ("request_ledger", "requests", "matches")}


def _kinds(device: Device, rid: str) -> list[str]:
    with AuditLog(device.tmp / "audit.sqlite3") as audit:
        assert audit.verify().ok
        return [e.kind for e in audit.entries() if e.request_id == rid]


@pytest.mark.parametrize("table", ["requests", "matches"])
def test_a_write_failing_after_the_claim_leaves_neither_row(device: Device, clips: list[str],
                                                            table: str) -> None:
    payload = device.request()
    rid = json.loads(payload)["request_id"]
    with closing(_raw(device)) as db:  # the book exists once a desk opened it
        device.desk()
        db.execute(f"CREATE TRIGGER fail_once BEFORE INSERT ON {table} "
                   "BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
    desk = device.desk()
    with pytest.raises(sqlite3.IntegrityError, match="injected failure"):
        desk.receive(payload, NOW)
    assert _rows(device, rid) == {"request_ledger": 0, "requests": 0, "matches": 0}
    assert not any(device.catalog.held.values())
    with closing(_raw(device)) as db:
        db.execute("DROP TRIGGER fail_once")
    outcome = desk.receive(payload, NOW + 30)  # the broker redelivers the unacked message
    assert (outcome.kind, outcome.request_id) == (RequestStatus.PENDING, rid)
    assert _rows(device, rid) == {"request_ledger": 1, "requests": 1, "matches": len(clips)}
    assert all(device.catalog.held[c] for c in clips)
    assert _kinds(device, rid) == ["received", "received", "shown"]
    assert desk.receive(payload, NOW + 60).kind == "duplicate"


def test_a_crash_between_the_claim_and_the_request_row_leaves_neither(
        device: Device, clips: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    payload = device.request()
    rid = json.loads(payload)["request_id"]
    desk = device.desk()

    def die(*args: Any) -> None:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(RequestBook, "add_request", die)
        with pytest.raises(Crash):
            desk.receive(payload, NOW)
    assert _rows(device, rid) == {"request_ledger": 0, "requests": 0, "matches": 0}
    device.close()  # the daemon restarts
    assert device.desk().receive(payload, NOW + 30).kind == "pending"
    assert _rows(device, rid) == {"request_ledger": 1, "requests": 1, "matches": len(clips)}


def test_checking_a_request_claims_nothing(device: Device, clips: list[str]) -> None:
    desk = device.desk()
    payload = device.request()
    rid = json.loads(payload)["request_id"]
    for _ in range(2):
        assert desk.intake.validator.validate(payload, NOW).request.request_id == rid
    assert desk.book.seen(rid) is None
    assert desk.receive(payload, NOW).kind == "pending"
    with pytest.raises(RequestRejected, match="same body"):
        desk.intake.validator.validate(payload, NOW + 1)


def test_another_body_under_a_stored_id_is_refused(device: Device, clips: list[str]) -> None:
    desk = device.desk()
    payload = device.request()
    rid = json.loads(payload)["request_id"]
    assert desk.receive(payload, NOW).kind == "pending"
    other = device.request(request_id=rid, case_number="2025-084-55555")
    outcome = desk.receive(other, NOW + 5)
    assert (outcome.kind, outcome.reason) == ("rejected", "replayed")
    assert desk.get(rid).public["case"] == "2025-084-01234"
    assert _kinds(device, rid) == ["received", "shown", "rejected"]


def test_an_id_claimed_by_another_process_after_the_lookup_is_a_replay(
        device: Device, clips: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    payload = device.request()
    rid = json.loads(payload)["request_id"]
    late = device.desk()
    assert device.desk().receive(payload, NOW).kind == "pending"  # e.g. `requests import`
    monkeypatch.setattr(late.book, "seen", lambda request_id: None)  # looked up just before
    assert late.receive(payload, NOW + 1).kind == "duplicate"
    assert _rows(device, rid) == {"request_ledger": 1, "requests": 1, "matches": len(clips)}


def test_a_pruned_id_is_refused_as_expired(device: Device, clips: list[str]) -> None:
    desk = device.desk()
    payload = device.request()
    rid = json.loads(payload)["request_id"]
    assert desk.receive(payload, NOW).kind == "pending"
    later = NOW + KEEP_S + 1
    assert desk.prune_ledger(later) == 1 and desk.book.seen(rid) is None
    outcome = desk.receive(payload, later)
    assert (outcome.kind, outcome.reason) == ("rejected", "expired")


def test_an_id_claimed_without_its_request_by_an_older_version_is_forgotten(
        device: Device, clips: list[str]) -> None:
    """Older versions wrote the ledger and the request in two transactions; a crash between
    them left the id claimed with no request. Opening the book repairs that once."""
    payload = device.request()
    rid = json.loads(payload)["request_id"]
    with closing(_raw(device)) as db:
        db.executescript(TABLES)  # what an older version wrote (the desk upgrades it on open)
        db.execute("INSERT INTO request_ledger VALUES (?, ?, ?)",
                   (rid, NOW, parse_request(payload).body_sha256))
        assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    desk = device.desk()
    assert desk.book.seen(rid) is None
    assert desk.receive(payload, NOW + 30).kind == "pending"
    with closing(_raw(device)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1


def test_the_schemas_status_literals_are_request_statuses() -> None:
    """SQL spells statuses as literals (triggers take no parameters); keep them in step."""
    sql = TABLES + GUARDS + " ".join(b or "" for *_, b in ADDED_COLUMNS)
    literals = set(re.findall(r"'([a-z_]+)'", sql)) - {"accept", "decline", "array"}
    assert literals and literals <= set(RequestStatus)
