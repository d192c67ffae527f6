"""The doorbell's latest ring, as a small file the daemon replaces and the web app watches.

A ring's clip reaches the clip index only once it is recorded (the ring's `record_seconds`
and the post-roll later); a push that waited for it would arrive seconds after the press.
So the daemon's doorbell thread also replaces a marker (one of `DevicePaths.rings`: the live
directory on tmpfs when live view runs, else the store) at once with the ring's wall time,
and the web app's push thread, which reads both places a few times a second, pushes the ring
as soon as it sees a newer time. The two processes still meet only in files.

The write is atomic (a rename) and not fsynced: the marker is news for the next second, not
a record; the clip is the record.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger("doorcam")


def write_ring(path: Path, wall: float) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(json.dumps({"at": wall}))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_ring(path: Path) -> float | None:
    """The latest ring's wall time, or None (no marker, or one that cannot be read)."""
    try:
        doc = json.loads(path.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return None
    at = doc.get("at") if isinstance(doc, dict) else None
    return float(at) if isinstance(at, (int, float)) and at > 0 else None


class RingMarker:
    """A doorbell observer (`ring(wall)` on the doorbell thread) writing the marker."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def ring(self, wall: float) -> None:
        try:
            # A fresh store is made with its first clip: a ring may come before that.
            self.path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            write_ring(self.path, wall)
        except OSError as exc:  # the ring is still recorded; only its prompt push is lost
            log.warning("could not write the ring marker %s: %s", self.path, exc)
