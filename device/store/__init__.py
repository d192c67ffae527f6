"""The on-device clip store: clip files, thumbnails and a SQLite index (see store.py)."""

from device.store.errors import (
    ClipNotFound,
    ExportExists,
    IntegrityError,
    InvalidClipId,
    SchemaTooNew,
    StoreError,
    StoreFull,
    StoreIOError,
)
from device.store.ids import new_clip_id, validate_clip_id
from device.store.index import ClipRecord
from device.store.reconcile import ReconcileReport
from device.store.store import ClipStore

__all__ = [
    "ClipNotFound",
    "ClipRecord",
    "ClipStore",
    "ExportExists",
    "IntegrityError",
    "InvalidClipId",
    "ReconcileReport",
    "SchemaTooNew",
    "StoreError",
    "StoreFull",
    "StoreIOError",
    "new_clip_id",
    "validate_clip_id",
]
