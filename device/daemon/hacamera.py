"""Home Assistant's camera entity: the live view's current snapshot, sent to the home broker
at each ring and motion start and otherwise every `camera_interval_s`, never retained.

The snapshot is the live publisher's file on tmpfs (`device.wiring.paths.current_snapshot`).
A picture older than `STALE_S`, missing, larger than `camera_max_kb` or not a JPEG is not
sent; the camera's own availability topic then says `offline`, so Home Assistant shows the
camera unavailable rather than an old picture of the porch as if it were now.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Protocol

log = logging.getLogger("doorcam")
STALE_S = 2.0  # an older snapshot is not "the door now" (it is renewed twice a second)


class Picture(Enum):
    """Why a snapshot can or cannot be sent."""

    FRESH = "fresh"
    MISSING = "missing"
    STALE = "stale"
    TOO_LARGE = "too large"
    NOT_JPEG = "not a JPEG"


class CameraSink(Protocol):
    def camera_image(self, jpeg: bytes) -> None: ...

    def camera_available(self, available: bool) -> None: ...


Identity = tuple[int, int, int]  # inode, mtime (ns), size: one snapshot as the publisher wrote it


def snapshot_identity(info: os.stat_result) -> Identity:
    return info.st_ino, info.st_mtime_ns, info.st_size


def read_snapshot(path: Path, *, max_bytes: int, now: float,
                  skip: Identity | None = None) -> tuple[Picture, bytes | None, Identity | None]:
    """The snapshot's bytes if it is fresh, bounded and a JPEG (and not the one `skip` names:
    then FRESH without bytes). The publisher replaces the file by a rename, so one open sees
    one whole picture."""
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            ident = snapshot_identity(info)
            # Either way: a clock stepped back leaves a snapshot from the "future".
            if abs(now - info.st_mtime) > STALE_S:
                return Picture.STALE, None, ident
            if info.st_size > max_bytes:
                return Picture.TOO_LARGE, None, ident
            if ident == skip:
                return Picture.FRESH, None, ident
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        return Picture.MISSING, None, None
    except OSError as exc:
        log.debug("snapshot %s unreadable: %s", path, exc)
        return Picture.MISSING, None, None
    if len(data) > max_bytes:
        return Picture.TOO_LARGE, None, ident
    if not (data.startswith(b"\xff\xd8\xff") and data.endswith(b"\xff\xd9")):
        return Picture.NOT_JPEG, None, ident
    return Picture.FRESH, data, ident


class CameraFeed:
    """Thread-safe: `trigger` from the doorbell and motion threads, `tick` from the status
    thread (about once a second, more often while a picture is pending). A trigger sends the
    current picture at once (even one the timer just sent: the ring's own picture comes
    before the ring's event); a burst of triggers costs at most one picture per new snapshot
    (the live view renews it every `[live] snapshot_seconds`), the rest waiting for the next
    one. The timer never sends a picture twice."""

    def __init__(self, snapshot: Path, sink: CameraSink, *, interval_s: float, max_bytes: int,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        self.snapshot = snapshot
        self.sink = sink
        self.interval_s = interval_s
        self.max_bytes = max_bytes
        self._clock, self._wall = clock, wall
        self._lock = threading.Lock()
        self._last: Identity | None = None  # the snapshot sent last
        self._last_trigger: Identity | None = None  # ... and the one sent last for a trigger
        self._next_periodic = float("-inf")
        self._pending = False
        self._state: Picture | None = None

    def trigger(self) -> None:
        """A ring or a motion start: the current picture now, or the next one if this one
        was sent already."""
        with self._lock:
            self._pending = not self._send(skip=self._last_trigger, trigger=True)

    def soon(self, delay_s: float) -> None:
        """A picture within `delay_s` (Home Assistant restarted: it keeps none, since none is
        retained, and needs a moment to subscribe after the discovery it was just sent)."""
        with self._lock:
            self._next_periodic = min(self._next_periodic, self._clock() + delay_s)

    @property
    def pending(self) -> bool:
        """A trigger waits for the next snapshot (tick again soon)."""
        return self._pending

    def tick(self) -> None:
        with self._lock:
            if self._pending:
                self._pending = not self._send(skip=self._last_trigger, trigger=True)
            elif self._clock() >= self._next_periodic:
                self._send(skip=self._last)
            else:
                # Between pictures: say at once when the snapshot goes stale, and send one at
                # once when it is fresh again (not up to an interval later).
                state, _, _ = read_snapshot(self.snapshot, max_bytes=self.max_bytes,
                                            now=self._wall(), skip=self._last)
                if state is Picture.FRESH and self._state is not Picture.FRESH:
                    self._send(skip=self._last)
                else:
                    self._note(state)

    def _send(self, *, skip: Identity | None, trigger: bool = False) -> bool:
        """Whether a picture went (or none is to be had: nothing stays pending for it)."""
        state, jpeg, ident = read_snapshot(self.snapshot, max_bytes=self.max_bytes,
                                           now=self._wall(), skip=skip)
        self._note(state)
        if state is not Picture.FRESH:
            return True  # a stale snapshot is not sent later either
        if jpeg is None:
            return False  # sent already: wait for the next one
        self.sink.camera_image(jpeg)
        self._last = ident
        if trigger:
            self._last_trigger = ident
        self._next_periodic = self._clock() + self.interval_s
        return True

    def _note(self, state: Picture) -> None:
        if state is self._state:
            return
        if state is Picture.FRESH:
            if self._state is not None:
                log.info("Home Assistant camera: the snapshot is fresh again")
        elif state is Picture.TOO_LARGE:
            log.warning("Home Assistant camera: the snapshot %s is over camera_max_kb (%d KiB);"
                        " not sent (lower [live] snapshot_width)", self.snapshot,
                        self.max_bytes // 1024)
        else:
            log.info("Home Assistant camera unavailable: the snapshot %s is %s", self.snapshot,
                     state.value)
        self._state = state
        self.sink.camera_available(state is Picture.FRESH)
