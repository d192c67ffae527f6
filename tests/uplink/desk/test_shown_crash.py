"""A crash after a request is stored but before the owner is shown it: the MQTT redelivery
finishes the step (holds, one `shown` entry, the mark) instead of dropping it as a replay."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.uplink.desk.conftest import DEVICE, NOW, OWNER_KID, Device
from uplink.audit import AuditEntry, AuditKind, AuditLog
from uplink.desk import RequestDesk
from uplink.desk.book import RequestBook
from uplink.desk.schema import TABLES

H = 3600
REPO = Path(__file__).resolve().parents[3]


class Crash(BaseException):
    """The process dies here: nothing after this point runs."""


class CrashingAudit(AuditLog):
    """The real audit log, whose process dies once at `kind`, before or after the write."""

    def __init__(self, path: Path, kind: str, after_write: bool) -> None:
        super().__init__(path)
        self.crash_at: str | None = kind
        self.after_write = after_write

    def append(self, kind: AuditKind | str, request_id: str | None = None,
               detail: Mapping[str, Any] | None = None, *, at: float | None = None
               ) -> AuditEntry:
        if kind != self.crash_at:
            return super().append(kind, request_id, detail, at=at)
        self.crash_at = None
        if self.after_write:
            super().append(kind, request_id, detail, at=at)
        raise Crash


def _crash_while_receiving(dev: Device, payload: bytes, after_write: bool) -> str:
    """Receive `payload` in a process that dies at the `shown` entry, then 'restart'."""
    audit = CrashingAudit(dev.tmp / "audit.sqlite3", AuditKind.SHOWN, after_write)
    desk = RequestDesk.on_book(dev.tmp / "uplink.sqlite3", dev.registry, dev.catalog, audit,
                               DEVICE, {OWNER_KID: dev.owner_key.public_key()},
                               allow_insecure_loopback=True)
    try:
        with pytest.raises(Crash):
            desk.receive(payload, NOW)
        stored = desk.book.request(json.loads(payload)["request_id"])
        assert stored is not None and stored.status == "pending" and stored.shown_at is None
        return stored.request_id
    finally:
        for thing in (desk, audit):
            thing.close()


def _shown(dev: Device, rid: str) -> list[str]:
    with AuditLog(dev.tmp / "audit.sqlite3") as audit:
        assert audit.verify().ok
        return [e.kind for e in audit.entries() if e.request_id == rid]


@pytest.mark.parametrize("after_write", [False, True], ids=["before_entry", "after_entry"])
def test_redelivery_completes_a_request_stored_but_not_shown(device: Device,
                                                             after_write: bool) -> None:
    ids = [device.catalog.add(i, NOW - 2 * H + 600 * (i + 1)) for i in range(2)]
    payload = device.request()
    rid = _crash_while_receiving(device, payload, after_write)
    device.catalog.held.clear()  # whatever the dead process did not persist is gone
    desk = device.desk()  # the daemon restarts; the broker redelivers the unacked message
    outcome = desk.receive(payload, NOW + 30)
    assert (outcome.kind, outcome.request_id) == ("pending", rid)
    assert all(device.catalog.held.get(i) for i in ids), "the clips are held again"
    row = desk.get(rid)
    assert row.shown_at is not None and [r.request_id for r in desk.pending(NOW + 30)] == [rid]
    assert _shown(device, rid) == ["received", "shown"]
    for later in (NOW + 60, NOW + 90):  # ordinary redeliveries stay quiet
        assert desk.receive(payload, later).kind == "duplicate"
    assert _shown(device, rid) == ["received", "shown"]
    desk.accept(rid, None, NOW + 120)
    assert _shown(device, rid) == ["received", "shown", "accepted"]


def test_a_crashed_request_that_expired_meanwhile_is_not_shown(device: Device) -> None:
    device.catalog.add(0, NOW - 2 * H + 600)
    payload = device.request()
    rid = _crash_while_receiving(device, payload, after_write=False)
    desk = device.desk()
    late = desk.get(rid).expires_at + 1
    assert desk.receive(payload, late).kind == "rejected"  # expired: refused as such
    assert desk.expire(late) == [rid]
    assert _shown(device, rid) == ["received", "rejected", "expired"]


def test_doorcam_audit_verify_passes_after_a_completed_crash(device: Device) -> None:
    device.catalog.add(0, NOW - 2 * H + 600)
    payload = device.request()
    _crash_while_receiving(device, payload, after_write=True)
    assert device.desk().receive(payload, NOW + 5).kind == "pending"
    device.close()
    done = subprocess.run([sys.executable, "-m", "device.cli", "audit", "verify", "--store",
                           str(device.tmp)], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_requests_in_an_older_book_count_as_shown(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.executescript(TABLES)  # no shown_at column yet
        for rid, status in (("a", "pending"), ("b", "no_clips"), ("c", "declined")):
            db.execute("INSERT INTO requests VALUES (?,?,5,9e9,'h','pd','[]','u','{}',5)",
                       (rid, status))
    book = RequestBook(path)
    try:
        assert [(r.request_id, r.shown_at) for r in book.requests()] == [
            ("a", 5.0), ("b", None), ("c", 5.0)]
    finally:
        book.close()
