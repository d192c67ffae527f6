"""The request desk: agency requests in, owner decisions recorded. Deny by default.

A request reaches the owner only when it is fully verified, the device lies inside its area
and it matches clips; the clips are then held until the request is decided or expires.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from uplink.audit import AuditKind, AuditLog
from uplink.desk.book import DecisionRow, MatchedClip, RequestBook, RequestRow, RequestStatus
from uplink.desk.catalog import ClipCatalog, DeviceIdentity
from uplink.desk.owner import parse_owner_decision
from uplink.errors import DecisionRefused, Refusal, RequestRejected, UnknownRequest
from uplink.protocol import (
    AgencyRequest,
    RequestValidator,
    VerifiedRequest,
    location_in_area,
    window_overlaps,
)
from uplink.protocol.request import (
    CLOCK_SKEW_S,
    OwnerPolicy,
    check_owner_policy,
    describe,
    parse_request,
)
from uplink.protocol.validator import AgencyDirectory

log = logging.getLogger("doorcam.requests")


@dataclass(frozen=True)
class ReceiveOutcome:
    kind: str  # a RequestStatus (pending | no_clips | not_here), duplicate or rejected
    request_id: str | None
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.request_id or ''} {self.reason}".strip()


class RequestDesk:
    """Owns one connection to the request book; use it from one thread."""

    def __init__(self, db_path: Path, directory: AgencyDirectory, catalog: ClipCatalog,
                 audit: AuditLog, identity: DeviceIdentity,
                 owner_keys: Mapping[str, Ed25519PublicKey], *,
                 allow_insecure_loopback: bool = False, skew_s: int = CLOCK_SKEW_S,
                 policy: OwnerPolicy | None = None) -> None:
        self.book = RequestBook(db_path)
        self.policy = policy or OwnerPolicy()
        # The validator looks ids up in the book's replay ledger; `_store` claims them there.
        self.validator = RequestValidator(directory, self.book,
                                          allow_insecure_loopback=allow_insecure_loopback,
                                          skew_s=skew_s)
        self.catalog = catalog
        self.audit = audit
        self.identity = identity
        self.owner_keys = dict(owner_keys)
        self.skew_s = skew_s

    def close(self) -> None:
        self.book.close()

    def prune_ledger(self, now: float) -> int:
        """Forget request ids no copy of a request could still be valid under."""
        return self.book.prune_ledger(now)

    # -- agency requests ------------------------------------------------------------------
    def receive(self, payload: bytes, now: float) -> ReceiveOutcome:
        """Validate, match and store a request; never raises for a bad payload."""
        try:
            verified = self.validator.validate(payload, now)
        except RequestRejected as exc:
            if exc.reason == Refusal.REPLAYED:
                return self._replayed(parse_request(payload), now, exc)
            self.audit.append(AuditKind.REJECTED, _safe_id(payload),
                              {"reason": exc.reason, "detail": exc.detail[:200]}, at=now)
            log.info("request rejected: %s", str(exc)[:200])
            return ReceiveOutcome("rejected", None, exc.reason)
        return self._store(verified, now, payload)

    def _replayed(self, req: AgencyRequest, now: float, exc: RequestRejected) -> ReceiveOutcome:
        """An id already claimed: a redelivery of a stored request, or refused."""
        stored = self.book.request(req.request_id)
        if stored is not None and stored.body_sha256 == req.body_sha256:
            if (stored.status == RequestStatus.PENDING and stored.shown_at is None
                    and stored.expires_at > now):
                # Stored, then a crash before the owner was shown it: finish that step now.
                log.info("request %s was stored but not yet shown: showing it now",
                         req.request_id)
                self._show(stored, now, completing=True)
                return ReceiveOutcome(RequestStatus.PENDING, req.request_id)
            return ReceiveOutcome("duplicate", req.request_id)  # QoS 1 redelivery: quiet
        self.audit.append(AuditKind.REJECTED, req.request_id,
                          {"reason": exc.reason, "detail": exc.detail[:200]}, at=now)
        return ReceiveOutcome("rejected", req.request_id, exc.reason)

    def _store(self, v: VerifiedRequest, now: float, payload: bytes) -> ReceiveOutcome:
        req = v.request
        try:
            check_owner_policy(req, self.policy)
            outside = None
        except RequestRejected as exc:
            outside = exc
        received = describe(req)
        if outside is not None:  # stored (its id claimed) but never shown
            received["not_shown"] = {"reason": outside.reason, "detail": outside.detail[:200]}
        self.audit.append(AuditKind.RECEIVED, req.request_id, received, at=now)
        here = location_in_area(self.identity.latitude, self.identity.longitude, req)
        clips = [c for c in self.catalog.overlapping(req.window_start, req.window_end)
                 if window_overlaps(c.start_wall, c.end_wall, req)] if (
                     here and outside is None) else []
        status = (RequestStatus.PENDING if clips
                  else RequestStatus.OUTSIDE_POLICY if outside is not None
                  else RequestStatus.NO_CLIPS if here else RequestStatus.NOT_HERE)
        public = {**describe(req), "agency_id": req.agency_id,
                  "description": req.description, "investigator": req.investigator_name,
                  "contact": req.investigator_contact, "upload_url": req.upload_url,
                  "lat": req.lat, "lon": req.lon}
        if outside is not None:
            public["outside_policy"] = str(outside)[:200]
        # The uploader may reach exactly the host that was checked against the registry now.
        row = RequestRow(req.request_id, status, now, float(req.expires_at), req.body_sha256,
                         req.agency_id, (v.destination.host,), req.upload_url, public,
                         tuple(MatchedClip(c.id, c.sha256, c.start_wall, c.end_wall, c.size)
                               for c in clips), document=bytes(payload))
        try:
            # One transaction: the id is claimed if and only if its request is stored.
            with self.book.transaction() as db:
                self.book.claim(db, req.request_id, req.body_sha256, now)
                self.book.add_request(db, row, now)
        except RequestRejected as exc:  # claimed meanwhile by another process on the book
            return self._replayed(req, now, exc)
        if status == RequestStatus.PENDING:
            self._show(row, now, completing=False)
            log.info("new request %s from %s (case %s) matches %d clip(s): awaiting the owner",
                     req.request_id, req.agency_name, req.case_number, len(clips))
        else:
            why = (f"outside your policy ({outside})" if outside is not None
                   else "no clip in its window" if here else "device is outside its area")
            log.info("request %s not shown: %s", req.request_id, why)
        return ReceiveOutcome(status, req.request_id)

    def _show(self, row: RequestRow, now: float, *, completing: bool) -> None:
        """Hold the matched clips, audit `shown`, then mark the row shown. A crash before the
        mark is completed by the redelivery (`completing`): the audit is checked first, so a
        crash between the entry and the mark does not write a second one."""
        for c in row.clips:
            self.catalog.set_held(c.clip_id, True)
        if not completing or self.audit.find(AuditKind.SHOWN, row.request_id) is None:
            self.audit.append(AuditKind.SHOWN, row.request_id,
                              {"clips": [c.clip_id for c in row.clips]}, at=now)
        self.book.mark_shown(row.request_id, now)

    # -- owner decisions ------------------------------------------------------------------
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
               channel: str = "cli") -> DecisionRow:
        row = self._decidable(request_id, now)
        chosen = self._choose(row, clip_ids)
        return self._record(row, "accept", row.upload_url, chosen, now, channel, None)

    def _choose(self, row: RequestRow, clip_ids: Sequence[str] | None) -> list[tuple[str, str]]:
        """(id, sha256) of the named clips; refused unless each is matched and unchanged."""
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
            chosen.append((cid, matched[cid].sha256))
        if not chosen:
            raise DecisionRefused(Refusal.CLIP_NOT_MATCHED,
                                  "an acceptance must name at least one clip")
        return chosen

    def decline(self, request_id: str, now: float, *, channel: str = "cli") -> DecisionRow:
        row = self._decidable(request_id, now)
        return self._record(row, "decline", row.upload_url, [], now, channel, None)

    def decide_signed(self, payload: bytes, now: float) -> DecisionRow:
        """An owner decision from MQTT; refused whole unless signed by an enrolled key."""
        try:
            d = parse_owner_decision(payload, self.owner_keys, self.identity.device_id, now,
                                     self.skew_s)
            if self.book.decision_id_seen(d.decision_id):
                raise DecisionRefused(Refusal.REPLAYED,
                                      f"decision {d.decision_id} was already used")
            row = self._decidable(d.request_id, now)
            if d.request_sha256 != row.body_sha256:
                raise DecisionRefused(Refusal.REQUEST_CHANGED, "the decision was made on another "
                                      "body of this request than the one the device stored")
            if d.destination != row.upload_url:
                raise DecisionRefused(Refusal.WRONG_DESTINATION, "destination is not the request's")
            if d.verdict == "decline":
                return self._record(row, "decline", row.upload_url, [], now, "mqtt",
                                    d.decision_id)
            matched = {c.clip_id: c.sha256 for c in row.clips}
            for cid, digest in d.clips:
                if matched.get(cid) != digest:
                    raise DecisionRefused(Refusal.CLIP_NOT_MATCHED,
                                          f"{cid} with that SHA-256 is not matched")
            chosen = self._choose(row, [c for c, _ in d.clips])
            return self._record(row, "accept", row.upload_url, chosen, now, "mqtt",
                                d.decision_id)
        except DecisionRefused as exc:
            self.audit.append(AuditKind.REJECTED, _safe_id(payload, "request_id"),
                              {"reason": f"decision_{exc.reason}", "detail": exc.detail[:200]},
                              at=now)
            raise

    def _decidable(self, request_id: str, now: float) -> RequestRow:
        row = self.get(request_id)
        if row.status != RequestStatus.PENDING:
            raise DecisionRefused(Refusal.NOT_PENDING, f"request {request_id} is {row.status}")
        if row.expires_at <= now:
            raise DecisionRefused(Refusal.EXPIRED, f"request {request_id} has expired")
        return row

    def _record(self, row: RequestRow, verdict: str, destination: str,
                clips: Sequence[tuple[str, str]], now: float, channel: str,
                decision_id: str | None) -> DecisionRow:
        d = DecisionRow(row.request_id, verdict, destination, tuple(clips), now, channel, (),
                        None, None, row.body_sha256)
        try:
            with self.book.transaction() as db:
                self.book.add_decision(db, d, decision_id)
                self.book.set_status(db, row.request_id, RequestStatus.ACCEPTED
                                     if verdict == "accept" else RequestStatus.DECLINED, now)
        except sqlite3.IntegrityError as exc:  # the book's guards: e.g. expired meanwhile
            raise DecisionRefused(Refusal.REFUSED_BY_BOOK, str(exc)) from None
        kind = AuditKind.ACCEPTED if verdict == "accept" else AuditKind.DECLINED
        self.audit.append(kind, row.request_id, {"channel": channel, "destination": destination,
                                                 "clips": [list(c) for c in clips]}, at=now)
        self._release(c.clip_id for c in row.clips)
        return d

    def _release(self, clip_ids: Iterable[str]) -> None:
        for cid in clip_ids:
            if not self.book.clip_still_needed(cid):
                self.catalog.set_held(cid, False)

    def expire(self, now: float) -> list[str]:
        gone = [r for r in self.book.requests([RequestStatus.PENDING]) if r.expires_at <= now]
        for r in gone:
            with self.book.transaction() as db:
                self.book.set_status(db, r.request_id, RequestStatus.EXPIRED, now)
            self.audit.append(AuditKind.EXPIRED, r.request_id, {"clips": len(r.clips)}, at=now)
            self._release(c.clip_id for c in r.clips)
        return [r.request_id for r in gone]


def _safe_id(payload: bytes, key: str = "request_id") -> str | None:
    """The request id of a rejected payload, if it has a plausible one (for the audit)."""
    try:
        value = json.loads(payload[:65536]).get(key)
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable() \
        else None


