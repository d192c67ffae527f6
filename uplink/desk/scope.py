"""What leaves the device for one accepted request: each clip cut to the request's window,
with the device's Content Credentials added, before the manifest hashes it.

The cutting itself is video work, done by `capture/` and wired in by `device/`; the uplink
only sees the `ClipCutter` seam. Credentials come through the `Credentialer` seam.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from common import sha256_file
from uplink.desk.catalog import ClipCatalog, ClipInfo
from uplink.errors import PermanentUploadError
from uplink.protocol.evidence import EvidenceClip, SourceClip


class CutFailed(Exception):
    """The clip could not be cut to the window (unreadable video); one line."""


@dataclass(frozen=True)
class CutSpan:
    """Seconds from the clip's first frame where the cut starts and ends."""

    start_s: float
    end_s: float


class ClipCutter(Protocol):
    def cut(self, source: Path, dest: Path, start_s: float, end_s: float) -> CutSpan | None:
        """Write the part of `source` covering [start_s, end_s] (seconds from its first
        frame, keyframe-aligned at the start) durably to `dest`; None, writing nothing, when
        every frame already lies inside. Raises CutFailed."""
        ...


class Credentialer(Protocol):
    def add(self, source: Path, dest: Path, info: ClipInfo, cut: CutSpan | None) -> bool:
        """Write `source` to `dest` with Content Credentials; False (nothing written) when
        they cannot be added, so the clip goes without them."""
        ...


@dataclass(frozen=True)
class Item:
    """One file to send: the evidence entry and where its bytes are."""

    evidence: EvidenceClip
    path: Path
    cut: bool = False  # cut to the request's window (not only given credentials)


class Scope:
    """The files of one request's evidence, beside its manifest in `folder`."""

    def __init__(self, folder: Path, request_id: str) -> None:
        self.folder = folder
        self.request_id = request_id
        self.manifest = folder / f"{request_id}.json"
        self.receipt = folder / f"{request_id}.receipt.json"

    def cut_path(self, clip_id: str) -> Path:
        return self.folder / f"{self.request_id}.{clip_id}.mp4"

    def prepare(self, clips: list[tuple[str, str]], catalog: ClipCatalog,
                cutter: ClipCutter | None, window: tuple[float, float],
                credentials: Credentialer | None = None) -> list[Item]:
        """Cut each clip that reaches outside the window and add the credentials (the
        copies are kept for a resumed upload)."""
        self.folder.mkdir(mode=0o700, exist_ok=True)
        items = []
        for clip_id, sha in clips:
            info = catalog.get(clip_id)
            if info is None or info.sha256 != sha:
                raise PermanentUploadError(f"clip {clip_id} changed or vanished after consent")
            items.append(self._item(info, catalog.path(clip_id), cutter, window, credentials))
        return items

    def _item(self, info: ClipInfo, source: Path, cutter: ClipCutter | None,
              window: tuple[float, float], credentials: Credentialer | None) -> Item:
        start, end = window
        dest = self.cut_path(info.id)
        span = None
        if cutter is not None and not (info.start_wall >= start and info.end_wall <= end):
            try:
                span = cutter.cut(source, dest, start - info.start_wall, end - info.start_wall)
            except CutFailed as exc:
                raise PermanentUploadError(f"clip {info.id} cannot be cut to the request's "
                                           f"window, so nothing of it is sent: {exc}") from None
        stamped = credentials is not None and credentials.add(
            dest if span is not None else source, dest, info, span)
        if span is None and not stamped:
            return Item(EvidenceClip(info.id, info.start_wall, info.end_wall, info.size,
                                     info.sha256, clock=info.clock), source)
        original = None if span is None else SourceClip(info.start_wall, info.end_wall,
                                                        info.size, info.sha256)
        first, last = (0.0, info.end_wall - info.start_wall) if span is None else (
            span.start_s, span.end_s)
        return Item(EvidenceClip(info.id, info.start_wall + first, info.start_wall + last,
                                 dest.stat().st_size, sha256_file(dest), original, info.clock,
                                 stamped), dest, span is not None)

    def resumed(self, catalog_path: Callable[[str], Path]) -> list[Item] | None:
        """The files named by a manifest written before, if it and its cuts are all there."""
        try:
            doc = json.loads(self.manifest.read_bytes())
            items = []
            for c in doc["clips"]:
                copied = "original" in c or c.get("content_credentials") is True
                path = self.cut_path(c["clip_id"]) if copied else catalog_path(c["clip_id"])
                if not path.is_file():
                    return None
                items.append(Item(EvidenceClip(c["clip_id"], 0.0, 0.0, int(c["size"]),
                                               str(c["sha256"])), path, "original" in c))
            return items
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def remove_cuts(self, clip_ids: list[str]) -> None:
        """The cuts are copies of footage: gone once delivered (or given up)."""
        for clip_id in clip_ids:
            with contextlib.suppress(FileNotFoundError):
                self.cut_path(clip_id).unlink()
