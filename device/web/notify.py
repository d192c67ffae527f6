"""The web process's push thread: doorbell rings, new agency requests, and new clips (a
person or motion) to Web Push.

One thread (`push`) owns the notifier and its SQLite connections for the life of the server.
It watches files rather than the daemon: the request book and the clip index are written by
other processes, and a change of either file's size or mtime (or of its WAL) wakes a pass at
once; a full pass runs every `interval` anyway, for retries. Rings come from the daemon's
ring marker (device.wiring.ringmark), read every `RING_POLL_S`, so a ring is pushed
within a fraction of a second of the press rather than once its clip is recorded; the ring's
clip is then not pushed again. Reading a tiny file ten times a second and two stat calls
twice a second cost next to nothing on a Pi, where opening the databases that often would not.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from device.store import StoreError
from device.store.view import ClipView
from device.web.kinds import Kind, clip_kind
from device.web.push import Notifier, PushError, PushService
from device.wiring.ringmark import read_ring

log = logging.getLogger("doorcam.web")

RING_POLL_S = 0.1  # how soon a ring marker is noticed
POLL_S = 0.5  # how soon a change of the request book or clip index is noticed
INTERVAL_S = 5.0  # a full pass (retries due) at least this often
RING_FRESH_S = 60.0  # an older ring (the web app was down when it rang) is not news
LATE_LABEL_S = 120.0  # how long after a clip's start a "person" label is still news


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


def _labels(record: object) -> tuple[str, ...]:
    """A clip's labels where the store has them (people detection); none before."""
    labels = getattr(record, "labels", None)
    if isinstance(labels, str):
        return tuple(x.strip() for x in labels.split(",") if x.strip())
    if isinstance(labels, Iterable):
        return tuple(str(x) for x in labels)
    return ()


class NewClips:
    """Clips that appeared in the index since the last look, and their kind: the daemon
    stores a clip for every motion event and every doorbell ring (its trigger says which),
    and the people stage labels a clip "person", possibly after it was stored: a clip seen
    as motion that gains the label within `LATE_LABEL_S` is news again, as a person."""

    def __init__(self, store_root: Path) -> None:
        self.store_root = store_root
        self._newest: tuple[float, str] | None = None
        self._recent: dict[str, Kind] = {}  # clip id -> the kind it was seen as

    def _latest(self) -> list[tuple[float, str, Kind]]:
        with ClipView(self.store_root) as view:
            since = self._newest[0] - LATE_LABEL_S if self._newest else None
            return [(r.start_wall, r.id, clip_kind(r.trigger, _labels(r)))
                    for r in view.list(limit=50, since=since)]

    def prime(self) -> None:
        """Remember what exists now: clips from before the server started are not news."""
        latest = self._latest()
        self._recent = {cid: kind for _, cid, kind in latest}
        self._newest = max(c[:2] for c in latest) if latest else (float("-inf"), "")

    def new(self) -> list[tuple[float, str, Kind]]:
        """(start, clip id, kind) of each clip new (or newly a person) since the last call,
        oldest first."""
        if self._newest is None:
            self.prime()
            return []
        latest = sorted(self._latest())
        fresh = []
        for start, cid, kind in latest:
            before = self._recent.get(cid)
            arrived = before is None and (start, cid) > self._newest
            labelled_late = before is Kind.MOTION and kind is Kind.PERSON
            if arrived or labelled_late:
                fresh.append((start, cid, kind))
            self._recent[cid] = kind if before is None or kind is Kind.PERSON else before
        if latest:
            self._newest = max(self._newest, latest[-1][:2])
        keep = {cid for _, cid, _ in latest}
        self._recent = {cid: k for cid, k in self._recent.items() if cid in keep}
        return fresh


class RingWatch:
    """The daemon's ring marker: a ring newer than the last one seen, once. The marker is
    read on every look (a few dozen bytes): a stat could miss a replacement made within the
    file system's timestamp granularity. Given several places (`DevicePaths.rings`: the
    live directory, else the store), the newest ring in any of them counts."""

    def __init__(self, *paths: Path) -> None:
        self.paths = paths
        self._last = self._newest() or 0.0

    def _newest(self) -> float | None:
        return max((at for at in map(read_ring, self.paths) if at is not None), default=None)

    def rang(self, now: float) -> float | None:
        """The new ring's wall time, if the marker holds one not seen before and fresh."""
        at = self._newest()
        if at is None or at <= self._last:
            return None
        self._last = at
        return at if now - at <= RING_FRESH_S else None


class PushThread:
    """Start it with the server, stop it after; `start` raises PushConfigError for a config
    that cannot push (enabled without a contact)."""

    def __init__(self, service: PushService, book: Path, store_root: Path,
                 ring: Path | tuple[Path, ...], *,
                 poll_s: float = POLL_S, interval_s: float = INTERVAL_S,
                 ring_poll_s: float = RING_POLL_S) -> None:
        self.service = service
        self.book = book
        self.store_root = store_root
        self.rings = ring if isinstance(ring, tuple) else (ring,)
        self.poll_s = poll_s
        self.interval_s = interval_s
        self.ring_poll_s = ring_poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.notifier: Notifier | None = None

    def start(self) -> None:
        self.notifier = self.service.notifier()
        self._thread = threading.Thread(target=self._run, args=(self.notifier,), name="push")
        self._thread.start()
        log.info("push notifications on (rings, requests, people and motion, as each "
                 "account chooses)")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self, notifier: Notifier) -> None:
        watched = (self.book, self.store_root / "index.sqlite3")
        clips = NewClips(self.store_root)
        rings = RingWatch(*self.rings)
        last_sig: tuple[tuple[int, int], ...] | None = None
        last_pass = last_look = float("-inf")
        try:
            while not self._stop.is_set():
                mono = time.monotonic()
                rang = rings.rang(time.time())
                if rang is not None:
                    log.info("push: doorbell ring")
                    notifier.ring(rang)
                sig = last_sig
                if rang is not None or mono - last_look >= self.poll_s:
                    sig, last_look = _signature(watched), mono
                woken = notifier.woken()  # a security alert from a request thread
                if (rang is not None or woken or sig != last_sig
                        or mono - last_pass >= self.interval_s):
                    last_sig, last_pass = sig, mono
                    self._pass(notifier, clips)
                self._stop.wait(self.ring_poll_s)
        finally:
            notifier.close()

    def _pass(self, notifier: Notifier, clips: NewClips) -> None:
        try:
            for start, clip_id, kind in clips.new():
                if kind is Kind.RING:  # pushed from the ring marker at the press
                    log.info("push: new clip %s: ring, pushed at the press", clip_id)
                    continue
                log.info("push: new clip %s: %s", clip_id, kind.value)
                notifier.event(kind, start)
        except (StoreError, sqlite3.Error, OSError) as exc:  # requests and rings still go
            log.warning("push: reading new clips: %s", exc)
        try:
            report = notifier.notify_pending(time.time())
        except (PushError, sqlite3.Error, OSError) as exc:
            log.warning("push: %s", exc)
            return
        if (report.delivered or report.motion or report.rings or report.people
                or report.failed or report.dropped or report.alerts):
            log.info("push: %d delivered, %d ring, %d person, %d motion, %d alert, "
                     "%d retrying, %d failed, %d dropped", report.delivered, report.rings,
                     report.people, report.motion, report.alerts, report.retrying,
                     report.failed, report.dropped)
