"""Consent: agency requests matched to clips, owner decisions, and the upload of exactly
what the owner accepted (docs/protocol.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from uplink.desk.book import DecisionRow, MatchedClip, RequestRow, RequestStatus
from uplink.desk.catalog import ClipCatalog, ClipInfo, DeviceIdentity
from uplink.desk.desk import ReceiveOutcome, RequestDesk
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
    "ClipCatalog",
    "ClipInfo",
    "DecisionRow",
    "DeviceIdentity",
    "MatchedClip",
    "ReceiveOutcome",
    "RequestDesk",
    "RequestRow",
    "RequestStatus",
    "UploadReport",
    "UploadWorker",
    "device_kid",
    "load_or_create_device_key",
]
