"""The on-device clip store: clip files, thumbnails and a SQLite index (see store.py).

`ClipStore` (the writer, which needs the capture stack) is imported on first use, so a
process that only reads the store through `device.store.view` never loads numpy/OpenCV/PyAV.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from device.store.store import ClipStore


def __getattr__(name: str) -> Any:
    if name == "ClipStore":
        from device.store.store import ClipStore

        return ClipStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
