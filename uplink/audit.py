"""Append-only, hash-chained audit log of everything that happens to agency requests.

Each row's hash covers its own fields and the previous row's hash, so changing, removing or
reordering a row breaks the chain at that row. Removing rows from the end leaves a valid
shorter chain, so the head (seq, hash) is also kept in a small file beside the database,
replaced atomically after each append. Threat model: docs/protocol.md, "Audit log".
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from common import write_atomic
from common.durable import shared_mode
from uplink.errors import AuditError

GENESIS: Final = "0" * 64

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL, request_id TEXT,
    detail TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""


class AuditKind(StrEnum):
    """What happened to a request."""

    RECEIVED = "received"
    REJECTED = "rejected"
    SHOWN = "shown"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    UPLOADED = "uploaded"
    FAILED = "failed"
    RECEIPT = "receipt"  # the agency's signed receipt: checked (ok) or missing/bad (not ok)
    REGISTRY = "registry"  # a new agency registry was installed (not tied to a request)
    REGISTRY_LOADED = "registry_loaded"  # the daemon took a registry into use (once each)
    REGISTRY_REFUSED = "registry_refused"  # the daemon refused a registry file (once each)


@dataclass(frozen=True)
class AuditEntry:
    """One row of the log; `detail` is the stored JSON text."""

    seq: int
    at: float
    kind: str
    request_id: str | None
    detail: str
    prev: str
    hash: str


@dataclass(frozen=True)
class AuditProblem:
    """Where the chain breaks: `what` is changed, missing, reordered or head."""

    seq: int
    what: str
    detail: str


@dataclass(frozen=True)
class AuditReport:
    """Result of `AuditLog.verify`; `ok` only if there are no problems."""

    entries: int
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_seq(self) -> int | None:
        return min((p.seq for p in self.problems), default=None)


def entry_hash(seq: int, at: float, kind: str, request_id: str | None, detail: str,
               prev: str) -> str:
    """SHA-256 over the canonical JSON array of the fields (`at` as its IEEE-754 bits)."""
    at_bits = struct.pack(">d", at).hex()
    text = json.dumps([seq, at_bits, kind, request_id, detail, prev],
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_entry(entry: AuditEntry) -> str:
    """One readable line, for `doorcam audit show`."""
    when = datetime.fromtimestamp(entry.at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    try:
        detail = json.loads(entry.detail)
        extra = " ".join(f"{k}={v}" for k, v in detail.items()) if isinstance(detail, dict) \
            else entry.detail
    except ValueError:
        extra = entry.detail
    req = entry.request_id or "-"
    return f"#{entry.seq:<6} {when} {entry.kind:<9} {req} {extra}".rstrip()


def parse_anchor(text: str) -> tuple[int, str]:
    """An off-device anchor from "SEQ:HASH" or a JSON object with `seq` and `hash` (the
    owner's anchor file); ValueError if it is neither."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
            seq, digest = data["seq"], data["hash"]
        except (ValueError, KeyError, TypeError):
            raise ValueError("anchor JSON needs seq and hash") from None
    else:
        head, _, digest = text.partition(":")
        seq = int(head) if head.isdigit() else -1
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or not (
            isinstance(digest, str) and len(digest) == 64
            and all(c in "0123456789abcdef" for c in digest)):
        raise ValueError("an anchor is SEQ:HASH (a 64-hex SHA-256) or {\"seq\", \"hash\"}")
    return seq, digest


class AuditLog:
    """The log in SQLite at `db_path`, its head in `db_path` + ".head"."""

    def __init__(self, db_path: Path, *, kinds: type[StrEnum] = AuditKind) -> None:
        """`kinds`: the entry kinds this log accepts (another log may reuse the chaining)."""
        self.kinds = kinds
        self.db_path = Path(db_path)
        self.head_path = self.db_path.with_name(self.db_path.name + ".head")
        try:
            self._db = sqlite3.connect(self.db_path, isolation_level=None, timeout=10.0)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise AuditError(f"cannot open audit log {self.db_path}: {exc}") from exc

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, kind: StrEnum | str, request_id: str | None = None,
               detail: Mapping[str, Any] | None = None, *, at: float | None = None) -> AuditEntry:
        """Add one entry (a new seq, chained to the last) and move the head file forward."""
        kind = self.kinds(kind).value
        now = datetime.now(UTC).timestamp() if at is None else float(at)
        try:
            text = json.dumps(dict(detail or {}), sort_keys=True, ensure_ascii=False,
                              allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise AuditError(f"audit detail is not plain JSON: {exc}") from None
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                last = self._db.execute(
                    "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
                digest = entry_hash(seq, now, kind, request_id, text, prev)
                self._db.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?)",
                                 (seq, now, kind, request_id, text, prev, digest))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._write_head(seq, digest)
        except (sqlite3.Error, OSError) as exc:
            raise AuditError(f"cannot append to audit log: {exc}") from exc
        return AuditEntry(seq, now, kind, request_id, text, prev, digest)

    def entries(self, since_seq: int = 0) -> Iterator[AuditEntry]:
        """Entries with seq > since_seq, in order."""
        rows = self._db.execute(
            "SELECT seq, at, kind, request_id, detail, prev, hash FROM audit WHERE seq > ? "
            "ORDER BY seq", (since_seq,))
        for row in rows:
            yield AuditEntry(*row)

    def find(self, kind: StrEnum | str, request_id: str) -> AuditEntry | None:
        """The first entry of `kind` for `request_id`, if any (a scan: for rare checks)."""
        row = self._db.execute(
            "SELECT seq, at, kind, request_id, detail, prev, hash FROM audit "
            "WHERE kind = ? AND request_id = ? ORDER BY seq LIMIT 1",
            (self.kinds(kind).value, request_id)).fetchone()
        return None if row is None else AuditEntry(*row)

    def find_detail(self, kind: StrEnum | str, key: str, value: object) -> AuditEntry | None:
        """The first entry of `kind` whose detail has `key` equal to `value` (a scan of that
        kind: for rare entries)."""
        rows = self._db.execute(
            "SELECT seq, at, kind, request_id, detail, prev, hash FROM audit WHERE kind = ? "
            "ORDER BY seq", (self.kinds(kind).value,))
        for row in rows:
            entry = AuditEntry(*row)
            try:
                detail = json.loads(entry.detail)
            except ValueError:
                continue
            if isinstance(detail, dict) and detail.get(key) == value:
                return entry
        return None

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last entry, (0, GENESIS) if empty: what to anchor off-device."""
        row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def _write_head(self, seq: int, digest: str) -> None:
        head = json.dumps({"seq": seq, "hash": digest}).encode()
        write_atomic(self.head_path, head, shared_mode())

    def _read_head(self) -> tuple[int, str] | None:
        try:
            head = json.loads(self.head_path.read_text("utf-8"))
            return int(head["seq"]), str(head["hash"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            return (-1, "")

    def verify(self, anchor: tuple[int, str] | None = None) -> AuditReport:
        """Check the chain, the head file and optionally an off-device `anchor` (seq, hash).

        The anchor is a head seen earlier off the device (the owner's tool keeps the last
        signed head it verified; a web app may keep its own): the log must still hold entry
        `seq` with exactly that hash. A tail cut off and the head file rewritten to match
        passes the chain check but not the anchor (`missing`); a rewritten entry gives
        `head` at the anchor's seq. Use `parse_anchor` for "SEQ:HASH" or the anchor JSON."""
        problems: list[AuditProblem] = []
        hashes: dict[int, str] = {}
        expected_seq, prev = 1, GENESIS
        count, prev_changed = 0, False
        try:
            rows = list(self.entries())
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read audit log: {exc}") from exc
        for e in rows:
            count += 1
            if e.seq != expected_seq:
                problems.append(AuditProblem(expected_seq, "missing",
                                             f"entries {expected_seq}..{e.seq - 1} are gone"))
            changed = entry_hash(e.seq, e.at, e.kind, e.request_id, e.detail, e.prev) != e.hash
            if changed:
                problems.append(AuditProblem(e.seq, "changed", "content does not match its hash"))
            # A link broken only because the row before was already flagged is not news.
            elif e.prev != prev and e.seq == expected_seq and not prev_changed:
                problems.append(AuditProblem(
                    e.seq, "reordered", f"does not follow entry {e.seq - 1} (one was altered)"))
            prev_changed = changed
            hashes[e.seq] = e.hash
            expected_seq, prev = e.seq + 1, e.hash
        last = expected_seq - 1
        for label, mark in (("head file", self._read_head()), ("anchor", anchor)):
            if mark is None:
                continue
            seq, digest = mark
            if seq < 0:
                problems.append(AuditProblem(max(last, 1), "head", f"{label} is unreadable"))
            # The head is written after the commit, so a crash can leave it one entry behind.
            elif seq > last:
                problems.append(AuditProblem(max(last + 1, 1), "missing",
                                             f"{label} says the log reached entry {seq}"))
            elif (seq > 0 and hashes.get(seq) != digest) or (
                    label == "head file" and seq < last - 1):
                problems.append(AuditProblem(seq, "head", f"{label} does not match entry {seq}"))
        if self._read_head() is None and last > 0:
            problems.append(AuditProblem(last, "head", "head file is missing"))
        return AuditReport(count, problems)
