"""The request book: requests, matched clips and owner decisions in SQLite.

The upload worker reads ONLY the `decisions` table (verdict 'accept'): the clip list and the
destination it sends to are the ones the owner decided on, never the request's own fields.
The book also holds the replay ledger (`request_ledger`): the desk claims a request's id in the
transaction that stores the request.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from common.sqlitewal import connect_wal
from uplink.desk.schema import prepare
from uplink.errors import BookError
from uplink.protocol import ledger
from uplink.protocol.owner import Verdict

_REQUEST_COLUMNS = ("request_id, status, received_at, expires_at, body_sha256, agency_id, "
                    "allowed_hosts, upload_url, public, shown_at, document")


class RequestStatus(StrEnum):
    """Where a request stands; only a `pending` one is shown to the owner for a decision.

    Stored as these strings in `requests.status`. The SQL in `schema.py` (the decision guard's
    'pending', the shown_at backfill's 'no_clips' and 'not_here') spells them as literals: a
    trigger cannot take parameters. Rename a value only together with those literals.
    """

    PENDING = "pending"  # matched clips, awaiting the owner (clips held)
    NO_CLIPS = "no_clips"  # the device is in the area but has no clip in the window
    NOT_HERE = "not_here"  # the device lies outside the request's area
    OUTSIDE_POLICY = "outside_policy"  # authentic, but outside the owner's own limits
    ACCEPTED = "accepted"  # the owner accepted: the upload is due or under way
    DECLINED = "declined"  # the owner declined: nothing is sent
    EXPIRED = "expired"  # not decided before its expiry
    UPLOADED = "uploaded"  # the accepted clips and the manifest were delivered
    FAILED = "failed"  # the accepted upload failed for good


class Channel(StrEnum):
    """Where the owner decided, stored as these strings in `decisions.channel`."""

    CLI = "cli"  # `doorcam requests accept|decline` on the device
    WEB = "web"  # the owner's web app
    MQTT = "mqtt"  # a signed decision over the home broker (`doorcam owner decide`)


@dataclass(frozen=True)
class MatchedClip:
    clip_id: str
    sha256: str
    start_wall: float
    end_wall: float
    size: int


@dataclass(frozen=True)
class RequestRow:
    request_id: str
    status: RequestStatus
    received_at: float
    expires_at: float
    body_sha256: str
    agency_id: str
    allowed_hosts: tuple[str, ...]
    upload_url: str
    public: dict[str, Any]
    clips: tuple[MatchedClip, ...]
    shown_at: float | None = None  # None: not (yet) shown to the owner
    # The agency's signed request exactly as verified; None in rows stored before it was kept.
    document: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class DecisionRow:
    request_id: str
    verdict: Verdict
    destination: str
    clips: tuple[tuple[str, str], ...]  # (clip id, sha256) exactly as decided
    decided_at: float
    channel: str  # a `Channel` (older books, or rows written by hand, may hold others)
    uploaded: tuple[str, ...]
    completed_at: float | None
    failure: str | None
    request_sha256: str | None = None  # the request body decided on (None: older decision)


class RequestBook:
    """One connection; the thread that made it is the only one to use it."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = connect_wal(path)
        except sqlite3.Error as exc:
            raise BookError(f"cannot open the request book {path}: {exc}") from None
        try:
            prepare(self._db)
        except sqlite3.Error as exc:
            self._db.close()
            raise BookError(f"cannot open the request book {path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def seen(self, request_id: str) -> tuple[float, str] | None:
        """The replay ledger's (first-seen time, body hash) of the id, if claimed."""
        return ledger.seen(self._db, request_id)

    def claim(self, db: sqlite3.Connection, request_id: str, body_sha256: str,
              now: float) -> None:
        """Claim the id in the replay ledger, or raise `RequestRejected("replayed")`."""
        ledger.claim(db, request_id, body_sha256, now)

    def prune_ledger(self, now: float) -> int:
        """Forget claimed ids no request could still use (`ledger.prune`); how many."""
        with self.transaction() as db:
            return ledger.prune(db, now)

    def add_request(self, db: sqlite3.Connection, row: RequestRow, now: float) -> None:
        db.execute(
            "INSERT INTO requests (request_id, status, received_at, expires_at, body_sha256, "
            "agency_id, allowed_hosts, upload_url, public, updated_at, document) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?)", (
            row.request_id, row.status, row.received_at, row.expires_at, row.body_sha256,
            row.agency_id, json.dumps(list(row.allowed_hosts)), row.upload_url,
            json.dumps(row.public), now, row.document))
        db.executemany("INSERT INTO matches VALUES (?,?,?,?,?,?)", [
            (row.request_id, c.clip_id, c.sha256, c.start_wall, c.end_wall, c.size)
            for c in row.clips])

    def set_status(self, db: sqlite3.Connection, request_id: str, status: RequestStatus,
                   now: float) -> None:
        db.execute("UPDATE requests SET status = ?, updated_at = ? WHERE request_id = ?",
                   (status, now, request_id))

    def mark_shown(self, request_id: str, now: float) -> None:
        with self.transaction() as db:
            db.execute("UPDATE requests SET shown_at = ? WHERE request_id = ? "
                       "AND shown_at IS NULL", (now, request_id))

    def request(self, request_id: str) -> RequestRow | None:
        row = self._db.execute(f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE request_id = ?",
                               (request_id,)).fetchone()
        return None if row is None else self._request(row)

    def requests(self, statuses: Sequence[RequestStatus] | None = None) -> list[RequestRow]:
        rows = self._db.execute(
            f"SELECT {_REQUEST_COLUMNS} FROM requests ORDER BY received_at").fetchall()
        out = [self._request(r) for r in rows]
        return [r for r in out if statuses is None or r.status in statuses]

    def _request(self, r: tuple[Any, ...]) -> RequestRow:
        clips = tuple(MatchedClip(*c) for c in self._db.execute(
            "SELECT clip_id, sha256, start_wall, end_wall, size FROM matches "
            "WHERE request_id = ? ORDER BY start_wall", (r[0],)).fetchall())
        return RequestRow(r[0], RequestStatus(r[1]), r[2], r[3], r[4], r[5],
                          tuple(json.loads(r[6])), r[7], json.loads(r[8]), clips, r[9],
                          None if r[10] is None else bytes(r[10]))

    def add_decision(self, db: sqlite3.Connection, d: DecisionRow,
                     decision_id: str | None) -> None:
        db.execute(
            "INSERT INTO decisions (request_id, verdict, destination, clips, decided_at, "
            "channel, decision_id, request_sha256) VALUES (?,?,?,?,?,?,?,?)",
            (d.request_id, d.verdict, d.destination, json.dumps([list(c) for c in d.clips]),
             d.decided_at, d.channel, decision_id, d.request_sha256))

    def decision_id_seen(self, decision_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM decisions WHERE decision_id = ?",
                                (decision_id,)).fetchone() is not None

    def decision(self, request_id: str) -> DecisionRow | None:
        row = self._db.execute(
            "SELECT request_id, verdict, destination, clips, decided_at, channel, uploaded, "
            "completed_at, failure, request_sha256 FROM decisions WHERE request_id = ?",
            (request_id,)).fetchone()
        return None if row is None else self._decision(row)

    def open_accepted(self) -> list[DecisionRow]:
        """Accepted decisions whose upload has neither finished nor failed for good."""
        rows = self._db.execute(
            "SELECT request_id, verdict, destination, clips, decided_at, channel, uploaded, "
            "completed_at, failure, request_sha256 FROM decisions WHERE verdict = 'accept' "
            "AND completed_at IS NULL AND failure IS NULL ORDER BY decided_at").fetchall()
        return [self._decision(r) for r in rows]

    @staticmethod
    def _decision(r: tuple[Any, ...]) -> DecisionRow:
        return DecisionRow(r[0], Verdict(r[1]), r[2],
                           tuple((c[0], c[1]) for c in json.loads(r[3])), r[4], r[5],
                           tuple(json.loads(r[6])), r[7], r[8], r[9])

    def mark_uploaded(self, request_id: str, uploaded: Sequence[str]) -> None:
        with self.transaction() as db:
            db.execute("UPDATE decisions SET uploaded = ? WHERE request_id = ? "
                       "AND completed_at IS NULL AND failure IS NULL",
                       (json.dumps(list(uploaded)), request_id))

    def count_failure(self, request_id: str, now: float) -> tuple[int, float]:
        """One more failed round of an open upload: (rounds failed in a row, since when)."""
        with self.transaction() as db:
            db.execute("UPDATE decisions SET failures = failures + 1, "
                       "failing_since = COALESCE(failing_since, ?) WHERE request_id = ? "
                       "AND completed_at IS NULL AND failure IS NULL", (now, request_id))
            row = db.execute("SELECT failures, failing_since FROM decisions "
                             "WHERE request_id = ?", (request_id,)).fetchone()
        return int(row[0]), float(row[1] if row[1] is not None else now)

    def finish(self, request_id: str, now: float, failure: str | None) -> bool:
        """Close the upload once; False if it was already closed (another worker did)."""
        with self.transaction() as db:
            changed = db.execute(
                "UPDATE decisions SET completed_at = ?, failure = ? WHERE request_id = ? "
                "AND completed_at IS NULL AND failure IS NULL",
                (now, failure, request_id)).rowcount == 1
            if changed:
                self.set_status(db, request_id,
                                RequestStatus.FAILED if failure else RequestStatus.UPLOADED, now)
        return changed

    def clip_still_needed(self, clip_id: str) -> bool:
        """Is the clip under a pending request or an accepted, unfinished upload?"""
        row = self._db.execute(
            "SELECT 1 FROM matches m JOIN requests r USING (request_id) WHERE m.clip_id = ? "
            "AND (r.status = ? OR (r.status = ? AND EXISTS ("
            "SELECT 1 FROM decisions d, json_each(d.clips) j WHERE d.request_id = r.request_id "
            "AND d.completed_at IS NULL AND d.failure IS NULL "
            "AND json_extract(j.value, '$[0]') = m.clip_id))) LIMIT 1",
            (clip_id, RequestStatus.PENDING, RequestStatus.ACCEPTED)).fetchone()
        return row is not None
