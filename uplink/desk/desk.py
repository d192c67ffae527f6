"""The request desk: its two halves over one request book, and signed owner decisions.

`Intake` takes agency requests in (verification, registry, the owner's limits, matching);
`Decisions` records what the owner decided (book, catalog and audit log only). The daemon and
`doorcam requests` use both; the owner's web app only decides (`device.wiring.desk`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from uplink.audit import AuditLog
from uplink.desk.book import Channel, DecisionRow, RequestBook, RequestRow
from uplink.desk.catalog import ClipCatalog, DeviceIdentity
from uplink.desk.decisions import Decisions
from uplink.desk.intake import Intake, ReceiveOutcome, safe_id
from uplink.desk.owner import parse_owner_decision
from uplink.desk.refusals import RefusalLog
from uplink.errors import DecisionRefused
from uplink.protocol.request import CLOCK_SKEW_S, OwnerPolicy
from uplink.protocol.validator import AgencyDirectory


class RequestDesk:
    """Owns one connection to the request book; use it from one thread."""

    def __init__(self, decisions: Decisions, directory: AgencyDirectory,
                 identity: DeviceIdentity, owner_keys: Mapping[str, Ed25519PublicKey], *,
                 allow_insecure_loopback: bool = False, skew_s: int = CLOCK_SKEW_S,
                 policy: OwnerPolicy | None = None) -> None:
        """The whole desk around its deciding half (its book, catalog and audit log), as
        `device.wiring.uplink.open_desk` builds it on `device.wiring.desk.open_decisions`."""
        self.decisions = decisions
        self.book = decisions.book
        self.catalog = decisions.catalog
        self.audit = decisions.audit
        self.intake = Intake(self.book, directory, self.catalog, self.audit, identity,
                             allow_insecure_loopback=allow_insecure_loopback, skew_s=skew_s,
                             policy=policy)
        self.identity = identity
        self.owner_keys = dict(owner_keys)
        self.skew_s = skew_s

    @classmethod
    def on_book(cls, db_path: Path, directory: AgencyDirectory, catalog: ClipCatalog,
                audit: AuditLog, identity: DeviceIdentity,
                owner_keys: Mapping[str, Ed25519PublicKey], *,
                allow_insecure_loopback: bool = False, skew_s: int = CLOCK_SKEW_S,
                policy: OwnerPolicy | None = None) -> RequestDesk:
        """The desk with its own connection to the book at `db_path` (closed by `close`)."""
        return cls(Decisions(RequestBook(db_path), catalog, audit), directory, identity,
                   owner_keys, allow_insecure_loopback=allow_insecure_loopback,
                   skew_s=skew_s, policy=policy)

    def close(self) -> None:
        """Close the book (`open_decisions` closes it itself; closing twice is harmless)."""
        self.book.close()

    # -- agency requests ------------------------------------------------------------------
    def receive(self, payload: bytes, now: float) -> ReceiveOutcome:
        return self.intake.receive(payload, now)

    def prune_ledger(self, now: float) -> int:
        return self.intake.prune_ledger(now)

    # -- owner decisions ------------------------------------------------------------------
    def get(self, request_id: str) -> RequestRow:
        return self.decisions.get(request_id)

    def pending(self, now: float) -> list[RequestRow]:
        return self.decisions.pending(now)

    def all(self) -> list[RequestRow]:
        return self.decisions.all()

    def decision(self, request_id: str) -> DecisionRow | None:
        return self.decisions.decision(request_id)

    def accept(self, request_id: str, clip_ids: Sequence[str] | None, now: float, *,
               channel: Channel = Channel.CLI) -> DecisionRow:
        return self.decisions.accept(request_id, clip_ids, now, channel=channel)

    def decline(self, request_id: str, now: float, *,
                channel: Channel = Channel.CLI) -> DecisionRow:
        return self.decisions.decline(request_id, now, channel=channel)

    def expire(self, now: float) -> list[str]:
        self.refusals.flush(now)  # the feed sweeps often: an hour's count is not held back
        return self.decisions.expire(now)

    @property
    def refusals(self) -> RefusalLog:
        return self.intake.refusals

    def decide_signed(self, payload: bytes, now: float) -> DecisionRow:
        """An owner decision from MQTT; refused whole (and audited) unless signed by an
        enrolled key, for this device, and acceptable to `Decisions.apply`."""
        try:
            d = parse_owner_decision(payload, self.owner_keys, self.identity.device_id, now,
                                     self.skew_s)
            return self.decisions.apply(d, now)
        except DecisionRefused as exc:
            self.refusals.record(safe_id(payload, "request_id"),
                                 {"reason": f"decision_{exc.reason}",
                                  "detail": exc.detail[:200]}, now)
            raise
