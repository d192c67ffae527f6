"""Consent: agency requests matched to clips, owner decisions, and the upload of exactly
what the owner accepted (docs/protocol.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from uplink.desk.book import (
    Channel,
    DecisionRow,
    MatchedClip,
    RequestRow,
    RequestStatus,
    Verdict,
)
from uplink.desk.catalog import ClipCatalog, ClipInfo, DeviceIdentity
from uplink.desk.decisions import Decisions
from uplink.desk.desk import RequestDesk
from uplink.desk.intake import Intake, Received, ReceiveOutcome
from uplink.desk.keys import device_kid, load_or_create_device_key

if TYPE_CHECKING:
    from uplink.desk.worker import UploadReport, UploadWorker


def __getattr__(name: str) -> Any:
    """The upload worker (and its HTTP stack) loads on first use, so a process that only
    reads the request book and records decisions (the owner's web app) stays small."""
    if name in ("UploadReport", "UploadWorker"):
        from uplink.desk import worker

        return getattr(worker, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Channel",
    "ClipCatalog",
    "ClipInfo",
    "DecisionRow",
    "Decisions",
    "DeviceIdentity",
    "Intake",
    "MatchedClip",
    "ReceiveOutcome",
    "Received",
    "RequestDesk",
    "RequestRow",
    "RequestStatus",
    "UploadReport",
    "UploadWorker",
    "Verdict",
    "device_kid",
    "load_or_create_device_key",
]
