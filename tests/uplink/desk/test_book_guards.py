"""The request book's triggers refuse forbidden decisions even when Python is bypassed:
each write here goes to the book's SQLite file directly, as a bug or a person could."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.uplink.desk.conftest import NOW, Device
from uplink.desk import Channel, RequestDesk, Verdict
from uplink.desk.book import RequestBook
from uplink.desk.schema import TABLES
from uplink.errors import DecisionRefused

H = 3600


@pytest.fixture
def pending(device: Device) -> Iterator[tuple[RequestDesk, str, list[tuple[str, str]]]]:
    """A stored pending request with three matched clips: (desk, request id, (id, sha)s)."""
    for i in range(3):
        device.catalog.add(i, NOW - 2 * H + 600 * (i + 1))
    desk = device.desk()
    rid = desk.receive(device.request(), NOW).request_id
    assert rid is not None
    yield desk, rid, [(c.clip_id, c.sha256) for c in desk.get(rid).clips]


def _raw(device: Device) -> sqlite3.Connection:
    return sqlite3.connect(device.tmp / "uplink.sqlite3", isolation_level=None, timeout=10.0)


def _insert(db: sqlite3.Connection, rid: str, clips: object, *, verdict: str = "accept",
            destination: str, how: str = "INSERT", body: str | None = None) -> None:
    """A decision written as a bug or a person could; bound to the stored request body
    unless `body` names another."""
    if body is None:
        row = db.execute("SELECT body_sha256 FROM requests WHERE request_id = ?",
                         (rid,)).fetchone()
        body = row[0] if row else "0" * 64
    db.execute(f"{how} INTO decisions (request_id, verdict, destination, clips, decided_at, "
               "channel, request_sha256) VALUES (?,?,?,?,?,?,?)",
               (rid, verdict, destination, clips if isinstance(clips, str)
                else json.dumps(clips), NOW + 5, "sql", body))


def test_an_acceptance_must_go_to_the_stored_upload_url(
        device: Device, pending: tuple[RequestDesk, str, list[tuple[str, str]]]) -> None:
    desk, rid, clips = pending
    url = desk.get(rid).upload_url
    with closing(_raw(device)) as db:
        for wrong in ("https://evil.example/tus/", url + "x", url.upper(), url.rstrip("/")):
            with pytest.raises(sqlite3.IntegrityError, match="request's upload_url"):
                _insert(db, rid, [list(clips[0])], destination=wrong)
        with pytest.raises(sqlite3.IntegrityError, match="needs a pending request"):
            _insert(db, "no-such-request", [list(clips[0])], destination=url)
        _insert(db, rid, [list(clips[0])], destination=url)  # exact: allowed
    assert desk.decision(rid) is not None


def test_accepted_clips_must_be_matched_with_the_same_sha256(
        device: Device, pending: tuple[RequestDesk, str, list[tuple[str, str]]]) -> None:
    desk, rid, clips = pending
    url = desk.get(rid).upload_url
    stranger = device.catalog.add(30, NOW - 6 * H)  # in the catalog but not matched
    (cid, sha), other = clips[0], clips[1]
    refused = {
        "not matched": [[cid, "0" * 64]],  # right id, wrong digest
        "not matched ": [[cid, other[1]]],  # another matched clip's digest
        "not matched  ": [list(other), [stranger, device.catalog.clips[stranger].sha256]],
        "at least one clip": [],
        "JSON array": "not json",
        "JSON array ": json.dumps({"id": cid, "sha256": sha}),
        "JSON array  ": json.dumps([cid, sha]),
        "JSON array   ": json.dumps([[cid, sha, "extra"]]),
    }
    with closing(_raw(device)) as db:
        for message, bad in refused.items():
            with pytest.raises(sqlite3.IntegrityError, match=message.strip()):
                _insert(db, rid, bad, destination=url)
        assert db.execute("SELECT COUNT(*) FROM decisions").fetchone() == (0,)
        _insert(db, rid, [list(c) for c in clips], destination=url)


def test_one_decision_per_request_even_with_insert_or_replace(
        device: Device, pending: tuple[RequestDesk, str, list[tuple[str, str]]]) -> None:
    desk, rid, clips = pending
    url = desk.get(rid).upload_url
    desk.decline(rid, NOW + 1)
    with closing(_raw(device)) as db:
        for how in ("INSERT", "INSERT OR REPLACE", "REPLACE"):
            with pytest.raises(sqlite3.IntegrityError, match="already decided"):
                _insert(db, rid, [list(clips[0])], destination=url, how=how)
    d = desk.decision(rid)
    assert d is not None and d.verdict == "decline" and d.clips == ()


def test_decisions_are_append_only_but_upload_progress_may_move(
        device: Device, pending: tuple[RequestDesk, str, list[tuple[str, str]]]) -> None:
    desk, rid, clips = pending
    desk.accept(rid, [clips[0][0]], NOW + 1)
    changes = ["verdict = 'decline'", "destination = 'https://evil.example/'",
               f"clips = '{json.dumps([list(c) for c in clips])}'", "decided_at = 0",
               "channel = 'mqtt'", "decision_id = 'x'", "request_id = 'other'"]
    with closing(_raw(device)) as db:
        for change in changes:
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(f"UPDATE decisions SET {change} WHERE request_id = ?", (rid,))
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM decisions WHERE request_id = ?", (rid,))
        db.execute("UPDATE decisions SET uploaded = ? WHERE request_id = ?",
                   (json.dumps([clips[0][0]]), rid))
        db.execute("UPDATE decisions SET completed_at = 1, failure = NULL WHERE request_id = ?",
                   (rid,))
        for change in ("completed_at = NULL", "failure = 'x'", "uploaded = '[]'"):
            with pytest.raises(sqlite3.IntegrityError, match="finished upload is final"):
                db.execute(f"UPDATE decisions SET {change} WHERE request_id = ?", (rid,))
    d = desk.decision(rid)
    assert d is not None and d.clips == (clips[0],) and d.destination == desk.get(rid).upload_url


def test_a_requests_destination_and_its_matches_are_fixed(
        device: Device, pending: tuple[RequestDesk, str, list[tuple[str, str]]]) -> None:
    _, rid, _ = pending
    with closing(_raw(device)) as db:
        for change in ("upload_url = 'https://evil.example/'", "allowed_hosts = '[\"evil\"]'",
                       "body_sha256 = 'x'", "agency_id = 'x'"):
            with pytest.raises(sqlite3.IntegrityError, match="fixed"):
                db.execute(f"UPDATE requests SET {change} WHERE request_id = ?", (rid,))
        with pytest.raises(sqlite3.IntegrityError, match="matched clips are fixed"):
            db.execute("UPDATE matches SET sha256 = ? WHERE request_id = ?", ("0" * 64, rid))
        db.execute("UPDATE requests SET updated_at = 1 WHERE request_id = ?", (rid,))


def test_a_book_from_an_older_version_gets_the_guards_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.executescript(TABLES)  # what the first release created: tables, no triggers
        db.execute("INSERT INTO requests VALUES ('r1','pending',1,9e9,'h','pd','[]',"
                   "'https://pd.example/tus/','{}',1)")
        db.execute("INSERT INTO matches VALUES ('r1','c1','aa',1,2,3)")
    RequestBook(path).close()
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
        assert {"decisions_guard_insert", "decisions_guard_update", "decisions_guard_final",
                "decisions_guard_delete"} <= names
        with pytest.raises(sqlite3.IntegrityError, match="upload_url"):
            _insert(db, "r1", [["c1", "aa"]], destination="https://evil.example/")
        _insert(db, "r1", [["c1", "aa"]], destination="https://pd.example/tus/")
    RequestBook(path).close()  # opening again is harmless


def test_normal_accept_and_decline_still_work_and_a_race_is_refused_cleanly(
        device: Device, pending: tuple[RequestDesk, str, list[tuple[str, str]]]) -> None:
    desk, rid, clips = pending
    desk.accept(rid, None, NOW + 1)
    d = desk.decision(rid)
    assert d is not None and d.verdict == "accept" and list(d.clips) == clips
    second = desk.receive(device.request(), NOW).request_id
    assert second is not None
    desk.decline(second, NOW + 2)
    assert desk.get(second).status == "declined"
    # Two processes: the CLI read the request as pending, then the daemon expired it.
    third = desk.receive(device.request(), NOW).request_id
    assert third is not None
    seen_pending = desk.get(third)
    other = device.desk()
    assert other.expire(seen_pending.expires_at) == [third]
    with pytest.raises(DecisionRefused) as info:
        desk.decisions._record(seen_pending, Verdict.ACCEPT, clips, NOW + 3, Channel.CLI, None)
    assert info.value.reason == "refused_by_book"
    assert desk.decision(third) is None and desk.get(third).status == "expired"
