"""The audit log: appends chain, and direct tampering with the SQLite file is pinpointed."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from uplink.audit import AuditKind, AuditLog, entry_hash, format_entry
from uplink.errors import AuditError

T0 = 1_750_000_000.25


@pytest.fixture
def log(tmp_path: Path) -> Iterator[AuditLog]:
    with AuditLog(tmp_path / "audit.sqlite") as audit:
        for i, kind in enumerate([AuditKind.RECEIVED, AuditKind.SHOWN, AuditKind.ACCEPTED,
                                  AuditKind.UPLOADED, AuditKind.RECEIVED]):
            audit.append(kind, f"req-{i % 2}", {"n": i, "note": "ünïcode"}, at=T0 + i)
        yield audit


def tamper(log: AuditLog, *sql: str) -> None:
    """What an editor of the file would do: drop the guard triggers, then change rows."""
    db = sqlite3.connect(log.db_path)
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("DROP TRIGGER audit_no_delete")
    for statement in sql:
        db.execute(statement)
    db.commit()
    db.close()


def test_intact_log_verifies_and_survives_reopen(log: AuditLog) -> None:
    assert log.verify().ok and log.verify().entries == 5
    with AuditLog(log.db_path) as again:
        again.append("rejected", None, {"reason": "bad_signature"}, at=T0 + 9)
        report = again.verify()
    assert report.ok and report.entries == 6
    assert [e.seq for e in log.entries()] == [1, 2, 3, 4, 5, 6]


def test_chain_links_each_entry_to_the_one_before(log: AuditLog) -> None:
    entries = list(log.entries())
    assert entries[0].prev == "0" * 64
    assert all(b.prev == a.hash for a, b in itertools.pairwise(entries))


def test_triggers_refuse_plain_edits(log: AuditLog) -> None:
    db = sqlite3.connect(log.db_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET kind = 'declined' WHERE seq = 3")
    db.close()


def test_changed_detail_is_pinpointed(log: AuditLog) -> None:
    tamper(log, "UPDATE audit SET detail = '{\"n\":99}' WHERE seq = 3")
    report = log.verify()
    assert not report.ok and report.first_bad_seq == 3
    assert [(p.seq, p.what) for p in report.problems] == [(3, "changed")]


def test_deleted_middle_entry_is_pinpointed(log: AuditLog) -> None:
    tamper(log, "DELETE FROM audit WHERE seq = 2")
    report = log.verify()
    assert [(p.seq, p.what) for p in report.problems] == [(2, "missing")]


def test_deleted_last_entry_is_caught_by_the_head(log: AuditLog) -> None:
    tamper(log, "DELETE FROM audit WHERE seq = 5")
    report = log.verify()
    assert [(p.seq, p.what) for p in report.problems] == [(5, "missing")]


def test_deleted_tail_with_head_file_gone_is_caught(log: AuditLog) -> None:
    tamper(log, "DELETE FROM audit WHERE seq >= 4")
    log.head_path.unlink()
    assert log.verify().first_bad_seq == 3


def test_swapped_rows_are_pinpointed(log: AuditLog) -> None:
    cols = "at, kind, request_id, detail, prev, hash"
    tamper(log,
           "CREATE TEMP TABLE t AS SELECT * FROM audit WHERE seq IN (2, 4)",
           f"UPDATE audit SET ({cols}) = (SELECT {cols} FROM t WHERE seq = 4) WHERE seq = 2",
           f"UPDATE audit SET ({cols}) = (SELECT {cols} FROM t WHERE seq = 2) WHERE seq = 4")
    report = log.verify()
    assert report.first_bad_seq == 2 and {p.seq for p in report.problems} == {2, 4}


def test_rehashed_edit_still_breaks_the_next_link(log: AuditLog) -> None:
    e = next(e for e in log.entries() if e.seq == 2)
    forged = entry_hash(2, e.at, "declined", e.request_id, e.detail, e.prev)
    tamper(log, f"UPDATE audit SET kind = 'declined', hash = '{forged}' WHERE seq = 2")
    assert [(p.seq, p.what) for p in log.verify().problems] == [(3, "reordered")]


def test_off_device_anchor_detects_a_rewritten_log(log: AuditLog, tmp_path: Path) -> None:
    anchor = log.head()
    assert log.verify(anchor=anchor).ok
    log.close()
    (tmp_path / "audit.sqlite").unlink()
    log.head_path.unlink()
    with AuditLog(tmp_path / "audit.sqlite") as rewritten:
        for i in range(5):
            rewritten.append("received", "req-x", {"n": i}, at=T0 + i)
        assert rewritten.verify().ok  # consistent on its own ...
        assert not rewritten.verify(anchor=anchor).ok  # ... but not with what the owner saw


def test_head_one_behind_after_a_crash_is_tolerated(log: AuditLog) -> None:
    entries = list(log.entries())
    log.head_path.write_text(json.dumps({"seq": 4, "hash": entries[3].hash}))
    assert log.verify().ok
    log.head_path.write_text(json.dumps({"seq": 3, "hash": entries[2].hash}))
    assert not log.verify().ok


def test_format_entry_is_one_line(log: AuditLog) -> None:
    line = format_entry(next(log.entries()))
    assert "\n" not in line
    assert line.startswith("#1") and "received" in line and "req-0" in line and "n=0" in line
    assert "2025-06-15 15:06:40Z" in line


def test_bad_input_is_an_audit_error(log: AuditLog) -> None:
    with pytest.raises(ValueError):
        log.append("teleported")
    with pytest.raises(AuditError):
        log.append("failed", "r", {"x": float("nan")})


def test_a_cut_tail_with_a_rewritten_head_passes_alone_but_not_against_an_anchor(
        log: AuditLog) -> None:
    from uplink.audit import parse_anchor

    anchor = log.head()  # what the owner's tool saved off the device
    tamper(log, "DELETE FROM audit WHERE seq = 5")
    seq, digest = next(e for e in log.entries() if e.seq == 4).seq, log.head()[1]
    log.head_path.write_text(json.dumps({"seq": seq, "hash": digest}))
    assert log.verify().ok, "the chain and the head file alone cannot tell"
    report = log.verify(anchor=anchor)
    assert not report.ok and report.problems[0].what == "missing"
    assert "anchor says the log reached entry 5" in report.problems[0].detail
    assert parse_anchor(f"{anchor[0]}:{anchor[1]}") == anchor
    assert parse_anchor(json.dumps({"seq": anchor[0], "hash": anchor[1],
                                    "device_key": "x"})) == anchor
    for bad in ("5", "x:" + "0" * 64, "5:" + "g" * 64, '{"seq": 1}', '{"seq": true, '
                '"hash": "' + "0" * 64 + '"}'):
        with pytest.raises(ValueError):
            parse_anchor(bad)
