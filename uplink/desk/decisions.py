"""The desk's deciding half: the owner's decisions recorded, expiries, holds released.

Deciding needs only the request book, the clip catalog and the audit log: no registry, no
owner keys (a signed decision is verified before it gets here, `uplink.desk.desk`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from uplink.audit import AuditKind, AuditLog
from uplink.desk.book import (
    Channel,
    DecisionRow,
    RequestBook,
    RequestRow,
    RequestStatus,
    Verdict,
)
from uplink.desk.catalog import ClipCatalog
from uplink.desk.owner import OwnerDecision
from uplink.errors import DecisionRefused, Refusal, UnknownRequest


class Decisions:
    """Reads the book and records decisions on it; use it from one thread."""

    def __init__(self, book: RequestBook, catalog: ClipCatalog, audit: AuditLog) -> None:
        self.book = book
        self.catalog = catalog
        self.audit = audit

    def get(self, request_id: str) -> RequestRow:
        row = self.book.request(request_id)
        if row is None:
            raise UnknownRequest(f"no request {request_id!r} on this device")
        return row

    def pending(self, now: float) -> list[RequestRow]:
        return [r for r in self.book.requests([RequestStatus.PENDING]) if r.expires_at > now]

    def all(self) -> list[RequestRow]:
        return self.book.requests()

    def decision(self, request_id: str) -> DecisionRow | None:
        return self.book.decision(request_id)

    def accept(self, request_id: str, clip_ids: Sequence[str] | None, now: float, *,
               channel: Channel) -> DecisionRow:
        row = self._decidable(request_id, now)
        chosen = self._choose(row, clip_ids)
        return self._record(row, Verdict.ACCEPT, chosen, now, channel, None)

    def decline(self, request_id: str, now: float, *, channel: Channel) -> DecisionRow:
        row = self._decidable(request_id, now)
        return self._record(row, Verdict.DECLINE, [], now, channel, None)

    def apply(self, d: OwnerDecision, now: float) -> DecisionRow:
        """A verified owner decision: refused whole unless made once, on the body of the
        request stored here, for its destination and on its matched clips."""
        if self.book.decision_id_seen(d.decision_id):
            raise DecisionRefused(Refusal.REPLAYED,
                                  f"decision {d.decision_id} was already used")
        row = self._decidable(d.request_id, now)
        if d.request_sha256 != row.body_sha256:
            raise DecisionRefused(Refusal.REQUEST_CHANGED, "the decision was made on another "
                                  "body of this request than the one the device stored")
        if d.destination != row.upload_url:
            raise DecisionRefused(Refusal.WRONG_DESTINATION, "destination is not the request's")
        if d.verdict == Verdict.DECLINE:
            return self._record(row, Verdict.DECLINE, [], now, Channel.MQTT, d.decision_id)
        matched = {c.clip_id: c.sha256 for c in row.clips}
        for cid, digest in d.clips:
            if matched.get(cid) != digest:
                raise DecisionRefused(Refusal.CLIP_NOT_MATCHED,
                                      f"{cid} with that SHA-256 is not matched")
        chosen = self._choose(row, [c for c, _ in d.clips])
        return self._record(row, Verdict.ACCEPT, chosen, now, Channel.MQTT, d.decision_id)

    def _choose(self, row: RequestRow, clip_ids: Sequence[str] | None) -> list[tuple[str, str]]:
        """(id, sha256) of the named clips; refused unless each is matched, unchanged and
        still offerable (a simulated or unsynchronised clip only where the catalog says)."""
        matched = {c.clip_id: c for c in row.clips}
        wanted = list(matched) if clip_ids is None else list(dict.fromkeys(clip_ids))
        chosen = []
        for cid in wanted:
            if cid not in matched:
                raise DecisionRefused(Refusal.CLIP_NOT_MATCHED,
                                      f"{cid} is not matched by {row.request_id}")
            current = self.catalog.get(cid)
            if current is None or current.sha256 != matched[cid].sha256:
                raise DecisionRefused(Refusal.CLIP_CHANGED,
                                      f"{cid} changed or vanished since matching")
            if not current.offerable:
                raise DecisionRefused(Refusal.CLIP_NOT_OFFERABLE,
                                      f"{cid} is simulated or its time is not trusted")
            chosen.append((cid, matched[cid].sha256))
        if not chosen:
            raise DecisionRefused(Refusal.CLIP_NOT_MATCHED,
                                  "an acceptance must name at least one clip")
        return chosen

    def _decidable(self, request_id: str, now: float) -> RequestRow:
        row = self.get(request_id)
        if row.status != RequestStatus.PENDING:
            raise DecisionRefused(Refusal.NOT_PENDING, f"request {request_id} is {row.status}")
        if row.expires_at <= now:
            raise DecisionRefused(Refusal.EXPIRED, f"request {request_id} has expired")
        return row

    def _record(self, row: RequestRow, verdict: Verdict, clips: Sequence[tuple[str, str]],
                now: float, channel: Channel, decision_id: str | None) -> DecisionRow:
        d = DecisionRow(row.request_id, verdict, row.upload_url, tuple(clips), now, channel,
                        (), None, None, row.body_sha256)
        try:
            with self.book.transaction() as db:
                self.book.add_decision(db, d, decision_id)
                self.book.set_status(db, row.request_id, RequestStatus.ACCEPTED
                                     if verdict == Verdict.ACCEPT else RequestStatus.DECLINED,
                                     now)
        except sqlite3.IntegrityError as exc:  # the book's guards: e.g. expired meanwhile
            raise DecisionRefused(Refusal.REFUSED_BY_BOOK, str(exc)) from None
        kind = AuditKind.ACCEPTED if verdict == Verdict.ACCEPT else AuditKind.DECLINED
        self.audit.append(kind, row.request_id, {"channel": channel,
                                                 "destination": row.upload_url,
                                                 "clips": [list(c) for c in clips]}, at=now)
        self.release(c.clip_id for c in row.clips)
        return d

    def release(self, clip_ids: Iterable[str]) -> None:
        """Let retention have the clips no undecided request or open upload still needs."""
        for cid in clip_ids:
            if not self.book.clip_still_needed(cid):
                self.catalog.set_held(cid, False)

    def expire(self, now: float) -> list[str]:
        gone = [r for r in self.book.requests([RequestStatus.PENDING]) if r.expires_at <= now]
        for r in gone:
            with self.book.transaction() as db:
                self.book.set_status(db, r.request_id, RequestStatus.EXPIRED, now)
            self.audit.append(AuditKind.EXPIRED, r.request_id, {"clips": len(r.clips)}, at=now)
            self.release(c.clip_id for c in r.clips)
        return [r.request_id for r in gone]
