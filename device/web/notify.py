"""The web process's push thread: new agency requests, doorbell rings (a new clip marked
"ring"), and other new clips as motion, to Web Push.

One thread (`push`) owns the notifier and its SQLite connections for the life of the server.
It watches files rather than the daemon: the request book and the clip index are written by
other processes, and a change of either file's size or mtime (or of its WAL) wakes a pass at
once; a full pass runs every `interval` anyway, for retries. Stat calls twice a second cost
next to nothing on a Pi, where opening both databases twice a second would not.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

from device.store import StoreError
from device.store.view import ClipView
from device.web.guessing import GuessingWatch, guessing_message
from device.web.push import Notifier, PushError, PushService
from uplink.errors import AuditError

log = logging.getLogger("doorcam.web")

POLL_S = 0.5  # how soon a change of the request book or clip index is noticed
INTERVAL_S = 5.0  # a full pass (retries due) at least this often


def _signature(paths: tuple[Path, ...]) -> tuple[tuple[int, int], ...]:
    out = []
    for path in paths:
        for p in (path, path.with_name(path.name + "-wal")):
            try:
                st = p.stat()
            except OSError:
                out.append((-1, -1))
            else:
                out.append((st.st_mtime_ns, st.st_size))
    return tuple(out)


class NewClips:
    """Clips that appeared in the index since the last look: the daemon stores a clip for
    every motion event and every doorbell ring (its trigger says which)."""

    def __init__(self, store_root: Path) -> None:
        self.store_root = store_root
        self._newest: tuple[float, str] | None = None

    def _latest(self) -> list[tuple[float, str, str]]:
        with ClipView(self.store_root) as view:
            since = self._newest[0] if self._newest else None
            return [(r.start_wall, r.id, r.trigger) for r in view.list(limit=50, since=since)]

    def prime(self) -> None:
        """Remember what exists now: clips from before the server started are not news."""
        latest = [c[:2] for c in self._latest()]
        self._newest = max(latest) if latest else (float("-inf"), "")

    def new(self) -> list[tuple[float, str, str]]:
        """(start, clip id, trigger) of each clip new since the last call, oldest first."""
        if self._newest is None:
            self.prime()
            return []
        fresh = sorted(c for c in self._latest() if c[:2] > self._newest)
        if fresh:
            self._newest = fresh[-1][:2]
        return fresh


class PushThread:
    """Start it with the server, stop it after; `start` raises PushConfigError for a config
    that cannot push (enabled without a contact)."""

    def __init__(self, service: PushService, book: Path, store_root: Path, *,
                 poll_s: float = POLL_S, interval_s: float = INTERVAL_S,
                 access: Path | None = None) -> None:
        self.service = service
        self.guessing = GuessingWatch(access) if access is not None else None
        self.book = book
        self.store_root = store_root
        self.poll_s = poll_s
        self.interval_s = interval_s
        self.motion = service.cfg.notify_on_motion
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        notifier = self.service.notifier()
        self._thread = threading.Thread(target=self._run, args=(notifier,), name="push")
        self._thread.start()
        log.info("push notifications on (%s)", "new requests and motion" if self.motion
                 else "new requests")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self, notifier: Notifier) -> None:
        watched = (self.book, self.store_root / "index.sqlite3",
                   *((self.guessing.path,) if self.guessing else ()))
        clips = NewClips(self.store_root)  # rings are pushed whatever notify_on_motion says
        last_sig: tuple[tuple[int, int], ...] | None = None
        last_pass = float("-inf")
        try:
            while not self._stop.is_set():
                sig = _signature(watched)
                mono = time.monotonic()
                if sig != last_sig or mono - last_pass >= self.interval_s:
                    last_sig, last_pass = sig, mono
                    self._pass(notifier, clips)
                self._stop.wait(self.poll_s)
        finally:
            notifier.close()

    def _pass(self, notifier: Notifier, clips: NewClips) -> None:
        try:
            for start, clip_id, trigger in clips.new():
                if trigger == "ring":
                    log.info("push: new clip %s: doorbell ring", clip_id)
                    notifier.ring()
                elif self.motion:
                    log.info("push: new clip %s: motion", clip_id)
                    notifier.motion(start)
            if self.guessing is not None and self.guessing.due(time.time()):
                log.info("push: someone is guessing passwords: %d browser(s) told",
                         notifier.alert(guessing_message(), "guessing"))
            report = notifier.notify_pending(time.time())
        except (PushError, StoreError, AuditError, sqlite3.Error, OSError) as exc:
            log.warning("push: %s", exc)
            return
        if report.delivered or report.motion or report.rings or report.failed or report.dropped:
            log.info("push: %d delivered, %d motion, %d ring, %d retrying, %d failed, "
                     "%d dropped", report.delivered, report.motion, report.rings,
                     report.retrying, report.failed, report.dropped)
