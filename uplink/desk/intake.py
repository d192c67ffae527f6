"""The desk's taking-in half: an agency request verified, checked against the owner's
limits, matched to clips and stored; its clips held once it is shown. Deny by default.

A request reaches the owner only when it is fully verified, the device lies inside its area
and it matches clips; the clips are then held until the request is decided or expires.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from enum import StrEnum

from uplink.audit import AuditKind, AuditLog
from uplink.desk.book import MatchedClip, RequestBook, RequestRow, RequestStatus
from uplink.desk.catalog import ClipCatalog, DeviceIdentity
from uplink.desk.refusals import RefusalLog
from uplink.errors import Refusal, RequestRejected
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


class Received(StrEnum):
    """What became of a request payload: the stored request's status, or why not stored."""

    PENDING = RequestStatus.PENDING.value
    NO_CLIPS = RequestStatus.NO_CLIPS.value
    NOT_HERE = RequestStatus.NOT_HERE.value
    OUTSIDE_POLICY = RequestStatus.OUTSIDE_POLICY.value
    DUPLICATE = "duplicate"  # a redelivery of a request stored before: nothing to do
    REJECTED = "rejected"  # refused; `ReceiveOutcome.reason` says why (audited)


@dataclass(frozen=True)
class ReceiveOutcome:
    kind: Received
    request_id: str | None
    reason: str = ""  # a `uplink.errors.REJECT_REASONS` code when rejected
    detail: str = ""  # and what exactly, for people

    def __str__(self) -> str:
        return f"{self.kind} {self.request_id or ''} {self.reason}".strip()


class Intake:
    """Takes agency requests into the book; use it from one thread."""

    def __init__(self, book: RequestBook, directory: AgencyDirectory, catalog: ClipCatalog,
                 audit: AuditLog, identity: DeviceIdentity, *,
                 allow_insecure_loopback: bool = False, skew_s: int = CLOCK_SKEW_S,
                 policy: OwnerPolicy | None = None) -> None:
        self.book = book
        self.policy = policy or OwnerPolicy()
        # The validator looks ids up in the book's replay ledger; `_store` claims them there.
        self.validator = RequestValidator(directory, book,
                                          allow_insecure_loopback=allow_insecure_loopback,
                                          skew_s=skew_s)
        self.catalog = catalog
        self.audit = audit
        self.refusals = RefusalLog(audit)  # the owner's refused decisions are counted here too
        self.identity = identity

    def prune_ledger(self, now: float) -> int:
        """Forget request ids no copy of a request could still be valid under."""
        return self.book.prune_ledger(now)

    def receive(self, payload: bytes, now: float) -> ReceiveOutcome:
        """Validate, match and store a request; never raises for a bad payload."""
        try:
            verified = self.validator.validate(payload, now)
        except RequestRejected as exc:
            if exc.reason == Refusal.REPLAYED:
                return self._replayed(parse_request(payload), now, exc)
            if self.refusals.record(safe_id(payload),
                                    {"reason": exc.reason, "detail": exc.detail[:200]}, now):
                log.info("request rejected: %s", str(exc)[:200])
            return ReceiveOutcome(Received.REJECTED, None, exc.reason, exc.detail[:200])
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
                return ReceiveOutcome(Received.PENDING, req.request_id)
            return ReceiveOutcome(Received.DUPLICATE, req.request_id)  # QoS 1 redelivery
        self.refusals.record(req.request_id, {"reason": exc.reason, "detail": exc.detail[:200]},
                             now)
        return ReceiveOutcome(Received.REJECTED, req.request_id, exc.reason, exc.detail[:200])

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
        return ReceiveOutcome(Received(status), req.request_id)

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


def safe_id(payload: bytes, key: str = "request_id") -> str | None:
    """The request id of a rejected payload, if it has a plausible one (for the audit)."""
    try:
        value = json.loads(payload[:65536]).get(key)
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable() \
        else None
