"""The request book's SQLite schema, and the guards (triggers) that hold below Python.

The guards refuse, whatever code or person writes to the file, a decision that the desk's
own checks would refuse: an acceptance sent anywhere but the request's stored upload URL,
a clip not matched to the request with that SHA-256, a decision bound to another body of
the request than the one stored (`request_sha256`), a second decision, a changed or
deleted decision. They are created with IF NOT EXISTS on every open, so a book written by
an older version gets them too. docs/protocol.md, "Owner decisions".
"""

from __future__ import annotations

import sqlite3
from typing import Final

from uplink.protocol import ledger

TABLES: Final = """
CREATE TABLE IF NOT EXISTS requests (
    request_id TEXT PRIMARY KEY, status TEXT NOT NULL, received_at REAL NOT NULL,
    expires_at REAL NOT NULL, body_sha256 TEXT NOT NULL, agency_id TEXT NOT NULL,
    allowed_hosts TEXT NOT NULL, upload_url TEXT NOT NULL, public TEXT NOT NULL,
    updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS matches (
    request_id TEXT NOT NULL, clip_id TEXT NOT NULL, sha256 TEXT NOT NULL,
    start_wall REAL NOT NULL, end_wall REAL NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (request_id, clip_id));
CREATE TABLE IF NOT EXISTS decisions (
    request_id TEXT PRIMARY KEY, verdict TEXT NOT NULL CHECK (verdict IN ('accept','decline')),
    destination TEXT NOT NULL, clips TEXT NOT NULL, decided_at REAL NOT NULL,
    channel TEXT NOT NULL, decision_id TEXT UNIQUE, uploaded TEXT NOT NULL DEFAULT '[]',
    completed_at REAL, failure TEXT);
CREATE INDEX IF NOT EXISTS matches_clip ON matches (clip_id);
""" + ledger.SCHEMA + ";"
# The replay ledger (request ids claimed, docs/protocol.md "Replay") lives in the same file, so
# the desk claims an id and stores its request in one transaction. It always did live here
# (the device opened its ledger on this file), so an existing book keeps its ids as they are.

# Columns added after the first release: (table, column, definition, backfill or None).
# shown_at: when the owner was shown the request (audit `shown` written); NULL while a
# pending request still has to be shown. Rows of an older book were shown when stored.
# failures, failing_since: the upload's streak of failed rounds (0, NULL: none yet).
ADDED_COLUMNS: Final[tuple[tuple[str, str, str, str | None], ...]] = (
    ("requests", "shown_at", "REAL",
     "UPDATE requests SET shown_at = received_at WHERE status NOT IN ('no_clips', 'not_here')"),
    ("decisions", "failures", "INTEGER NOT NULL DEFAULT 0", None),
    ("decisions", "failing_since", "REAL", None),
    # document: the agency's signed request exactly as verified (shown to remote owners);
    # request_sha256: the request body a decision was made on (NULL: decided before that).
    ("requests", "document", "BLOB", None),
    ("decisions", "request_sha256", "TEXT", None),
)

# One-off repairs of books written by older versions, each run once (PRAGMA user_version counts
# those done). 1: the ledger and the request row were written in two transactions, and a crash
# between them left an id claimed with no request; forget such ids, so the broker's redelivery
# is checked and stored afresh (what the recovery path of those versions did).
REPAIRS: Final[tuple[str, ...]] = (
    "DELETE FROM request_ledger WHERE request_id NOT IN (SELECT request_id FROM requests)",
)

# Each RAISE(ABORT) becomes sqlite3.IntegrityError; the statements of a trigger run in order,
# so a later one may rely on what an earlier one refused (clips is a JSON array of pairs).
GUARDS: Final = """
CREATE TRIGGER IF NOT EXISTS decisions_guard_insert BEFORE INSERT ON decisions
BEGIN
    SELECT RAISE(ABORT, 'request book: the request is already decided (one decision each)')
        WHERE EXISTS (SELECT 1 FROM decisions WHERE request_id = NEW.request_id);
    SELECT RAISE(ABORT, 'request book: a decision needs a pending request')
        WHERE (SELECT status FROM requests WHERE request_id = NEW.request_id)
            IS NOT 'pending';
    SELECT RAISE(ABORT, 'request book: an acceptance must send to the request''s upload_url')
        WHERE NEW.verdict = 'accept' AND NEW.destination IS NOT
            (SELECT upload_url FROM requests WHERE request_id = NEW.request_id);
    SELECT RAISE(ABORT, 'request book: clips must be a JSON array of [clip id, sha256]')
        WHERE CASE WHEN json_valid(NEW.clips) THEN json_type(NEW.clips) IS NOT 'array'
                   ELSE 1 END;
    SELECT RAISE(ABORT, 'request book: clips must be a JSON array of [clip id, sha256]')
        WHERE EXISTS (SELECT 1 FROM json_each(NEW.clips) j WHERE CASE
            WHEN j.type = 'array' THEN json_array_length(j.value) != 2 ELSE 1 END);
    SELECT RAISE(ABORT, 'request book: an acceptance names at least one clip')
        WHERE NEW.verdict = 'accept' AND json_array_length(NEW.clips) = 0;
    SELECT RAISE(ABORT, 'request book: an accepted clip is not matched with that SHA-256')
        WHERE NEW.verdict = 'accept' AND EXISTS (
            SELECT 1 FROM json_each(NEW.clips) j WHERE NOT EXISTS (
                SELECT 1 FROM matches m WHERE m.request_id = NEW.request_id
                AND m.clip_id IS json_extract(j.value, '$[0]')
                AND m.sha256 IS json_extract(j.value, '$[1]')));
END;
CREATE TRIGGER IF NOT EXISTS decisions_guard_update BEFORE UPDATE ON decisions
WHEN NEW.request_id IS NOT OLD.request_id OR NEW.verdict IS NOT OLD.verdict
    OR NEW.destination IS NOT OLD.destination OR NEW.clips IS NOT OLD.clips
    OR NEW.decided_at IS NOT OLD.decided_at OR NEW.channel IS NOT OLD.channel
    OR NEW.decision_id IS NOT OLD.decision_id
BEGIN
    SELECT RAISE(ABORT, 'request book: decisions are append-only (only progress may change)');
END;
CREATE TRIGGER IF NOT EXISTS decisions_guard_final BEFORE UPDATE ON decisions
WHEN OLD.completed_at IS NOT NULL OR OLD.failure IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'request book: a finished upload is final');
END;
CREATE TRIGGER IF NOT EXISTS decisions_guard_request_body BEFORE INSERT ON decisions
BEGIN
    SELECT RAISE(ABORT, 'request book: a decision must bind the body of the request decided')
        WHERE EXISTS (SELECT 1 FROM requests WHERE request_id = NEW.request_id)
            AND NEW.request_sha256 IS NOT
            (SELECT body_sha256 FROM requests WHERE request_id = NEW.request_id);
END;
CREATE TRIGGER IF NOT EXISTS decisions_guard_request_body_update BEFORE UPDATE ON decisions
WHEN NEW.request_sha256 IS NOT OLD.request_sha256
BEGIN
    SELECT RAISE(ABORT, 'request book: decisions are append-only (only progress may change)');
END;
CREATE TRIGGER IF NOT EXISTS decisions_guard_delete BEFORE DELETE ON decisions
BEGIN
    SELECT RAISE(ABORT, 'request book: decisions are append-only (no delete)');
END;
CREATE TRIGGER IF NOT EXISTS requests_guard_document BEFORE UPDATE ON requests
WHEN NEW.document IS NOT OLD.document
BEGIN
    SELECT RAISE(ABORT, 'request book: a request''s signed document is fixed');
END;
CREATE TRIGGER IF NOT EXISTS requests_guard_update BEFORE UPDATE ON requests
WHEN NEW.request_id IS NOT OLD.request_id OR NEW.upload_url IS NOT OLD.upload_url
    OR NEW.allowed_hosts IS NOT OLD.allowed_hosts OR NEW.body_sha256 IS NOT OLD.body_sha256
    OR NEW.agency_id IS NOT OLD.agency_id
BEGIN
    SELECT RAISE(ABORT, 'request book: a request''s id, agency, body and URL are fixed');
END;
CREATE TRIGGER IF NOT EXISTS matches_guard_update BEFORE UPDATE ON matches
BEGIN
    SELECT RAISE(ABORT, 'request book: matched clips are fixed');
END;
"""


def prepare(db: sqlite3.Connection) -> None:
    """Tables, columns added since and repairs (old files are upgraded), then the guards."""
    db.executescript(TABLES)
    db.execute("BEGIN IMMEDIATE")  # two connections may open an old file at once
    try:
        for table, column, definition, backfill in ADDED_COLUMNS:
            have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
                if backfill is not None:
                    db.execute(backfill)
        done = int(db.execute("PRAGMA user_version").fetchone()[0])
        if done < len(REPAIRS):
            for repair in REPAIRS[done:]:
                db.execute(repair)
            db.execute(f"PRAGMA user_version = {len(REPAIRS)}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.executescript(GUARDS)
