"""The on-device clip store: clip files, thumbnails and a SQLite index (see store.py).

`ClipStore` (the writer, which needs the capture stack) is imported on first use, so a
process that only reads the store through `device.store.view` never loads numpy/OpenCV/PyAV.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from device.store.errors import (
    ClipNotFound,
    ClipsMissing,
    ExportExists,
    IntegrityError,
    InvalidClipId,
    NoStore,
    NotAStore,
    SchemaTooNew,
    StoreError,
    StoreFull,
    StoreIOError,
)
from device.store.files import Layout
from device.store.ids import new_clip_id, validate_clip_id
from device.store.index import ClipRecord
from device.store.reconcile import ReconcileReport


def require_store(root: str | Path) -> Path:
    """The store's directory if a store is there (its index exists), else NoStore: for
    commands that only read, so a mistyped --store does not leave an empty store behind."""
    path = Path(root).expanduser()
    if not Layout(path).index.exists():
        raise NoStore(f"no clip store at {path}: check --store (or store.path in the config); "
                      "the daemon makes it at its first start")
    return path


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
    "ClipsMissing",
    "ExportExists",
    "IntegrityError",
    "InvalidClipId",
    "NoStore",
    "NotAStore",
    "ReconcileReport",
    "SchemaTooNew",
    "StoreError",
    "StoreFull",
    "StoreIOError",
    "new_clip_id",
    "require_store",
    "validate_clip_id",
]
