"""Consent: agency requests matched to clips, owner decisions, and the upload of exactly
what the owner accepted (docs/protocol.md)."""

from uplink.desk.book import DecisionRow, MatchedClip, RequestRow, RequestStatus
from uplink.desk.catalog import ClipCatalog, ClipInfo, DeviceIdentity
from uplink.desk.desk import ReceiveOutcome, RequestDesk
from uplink.desk.keys import device_kid, load_or_create_device_key
from uplink.desk.worker import UploadReport, UploadWorker

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
