"""The notifier: one push per new agency request to every subscription, and event pushes
(rings, people, motion), each to the accounts whose settings want it (preferences.py).

It runs as one thread of the web process and owns its SQLite connection (push.sqlite3, opened
on first use in that thread). It only reads the request book, through a read-only connection.

A request is notified once it is pending, shown to the owner (`shown_at`) and not expired.
The first time the notifier sees it, it records the request and one outbox row per current
subscription in one transaction; rows are then sent until delivered, the subscription is
gone (404/410: dropped), a permanent refusal, `max_attempts` tries, or the request stops
being pending. So a restart sends only what was not yet delivered, and a subscription made
after a request was first seen does not get a push for it.

Event pushes are best effort: not stored, short TTL; every ring is sent, people and motion
at most one per `MOTION_GAP_S` each. An account that turned a kind off gets none of it; a
snoozed account gets no event push, and its request pushes wait for the snooze's end.
Security alerts (`alert`) go to one account's browsers, whatever its settings.

A push service's Retry-After (on a 429 or 5xx) holds every push to that service until then:
due rows wait without spending an attempt, motion and ring pushes are skipped. A subscription
whose pushes keep failing otherwise (`STALE_FAILURES` in a row, the first `STALE_AFTER_S`
ago) belongs to a browser that is gone without its push service saying so: it is dropped.

What was notified is kept `KEEP_NOTIFIED_S` after it was first seen, then pruned (with its
outbox rows) once the request is no longer pending, `PRUNE_BATCH` rows at a time, at most
every `PRUNE_EVERY_S` while nothing is left over.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from config.push import PushConfig
from device.web.kinds import Kind
from device.web.push.errors import (
    DeliveryError,
    EndpointNotAllowed,
    PushError,
    RetryLater,
    SubscriptionGone,
)
from device.web.push.message import Message, alert_message, event_message, request_message
from device.web.push.preferences import PreferenceStore
from device.web.push.sender import PushSender, Target
from device.web.push.subscriptions import Subscription, SubscriptionStore
from device.web.push.vapid import audience
from uplink.desk.book import RequestStatus

log = logging.getLogger("doorcam.push")

MAX_ATTEMPTS = 6
RETRY_BASE_S = 30.0
RETRY_MAX_S = 3600.0
MOTION_GAP_S = 60.0
MOTION_TTL_S = 300
STALE_FAILURES = 10
STALE_AFTER_S = 3 * 86400.0
KEEP_NOTIFIED_S = 7 * 86400.0
PRUNE_EVERY_S = 3600.0
PRUNE_BATCH = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notified (request_id TEXT PRIMARY KEY, first_seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    request_id TEXT NOT NULL, subscription_id INTEGER NOT NULL, agency TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, done_at REAL, outcome TEXT,
    PRIMARY KEY (request_id, subscription_id));
CREATE INDEX IF NOT EXISTS notified_first_seen ON notified (first_seen);
"""


@dataclass
class NotifyReport:
    """What one `notify_pending` call did."""

    new_requests: list[str] = field(default_factory=list)
    delivered: int = 0
    dropped: int = 0  # subscriptions removed: gone, or failing for days
    retrying: int = 0
    held: int = 0  # not tried: their push service asked to wait (Retry-After)
    failed: int = 0  # given up: refused for good, or out of attempts
    motion: int = 0  # motion pushes delivered
    rings: int = 0  # doorbell pushes delivered
    people: int = 0  # person pushes delivered
    alerts: int = 0  # security alerts delivered
    unwanted: int = 0  # event pushes not sent: the account turned the kind off or snoozed
    snoozed: int = 0  # request pushes waiting for their account's snooze to end
    pruned: int = 0  # requests no longer needed, forgotten


class Notifier:
    """Use `notify_pending` and `close` from one thread, or `run` as that thread's body.
    `motion` and `wake` may be called from any thread."""

    def __init__(self, book_path: Path, store_path: Path,
                 sender: Callable[[], PushSender], cfg: PushConfig, *,
                 clock: Callable[[], float] = time.time,
                 max_attempts: int = MAX_ATTEMPTS, keep_notified_s: float = KEEP_NOTIFIED_S,
                 prune_batch: int = PRUNE_BATCH) -> None:
        self.book_path = Path(book_path)
        self.store_path = Path(store_path)
        self.cfg = cfg
        self.clock = clock
        self.max_attempts = max_attempts
        self.keep_notified_s = keep_notified_s
        self.prune_batch = prune_batch
        self._next_prune = float("-inf")
        self._held: dict[str, float] = {}  # push service origin -> wall time it asked for
        self._make_sender = sender
        self._sender: PushSender | None = None
        self._store: SubscriptionStore | None = None
        self._prefs: PreferenceStore | None = None
        self._lock = threading.Lock()
        self._events: dict[Kind, float] = {}  # kind -> when it was last seen, not yet sent
        self._alerts: list[tuple[str, str, str]] = []  # (account, text, url)
        self._last_push: dict[Kind, float] = {}
        self._wake = threading.Event()

    # -- any thread -------------------------------------------------------------------------
    def event(self, kind: Kind, at: float | None = None) -> None:
        """A ring, person or motion happened: the notifier thread pushes it to the accounts
        that want it."""
        if not self.cfg.enabled or kind is Kind.REQUEST:
            return
        with self._lock:
            self._events[kind] = self.clock() if at is None else at
        self._wake.set()

    def motion(self, at: float | None = None) -> None:
        self.event(Kind.MOTION, at)

    def person(self, at: float | None = None) -> None:
        self.event(Kind.PERSON, at)

    def ring(self, at: float | None = None) -> None:
        self.event(Kind.RING, at)

    def alert(self, account: str, text: str, url: str = "/activity") -> None:
        """A security alert for `account`'s browsers (e.g. "Someone is guessing your
        password"), sent on the next pass whatever the account's settings or snooze."""
        if not self.cfg.enabled:
            return
        with self._lock:
            self._alerts.append((account, text, url))
        self._wake.set()

    def wake(self) -> None:
        """End the current wait of `run` early (call it after setting its stop event)."""
        self._wake.set()

    def woken(self) -> bool:
        """True once after an event or alert arrived from another thread (for a loop that
        polls instead of `run`)."""
        if not self._wake.is_set():
            return False
        self._wake.clear()
        return True

    # -- the notifier thread ----------------------------------------------------------------
    def run(self, stop: threading.Event, interval: float = 5.0) -> None:
        """Call `notify_pending` every `interval` seconds (sooner on motion) until `stop`."""
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    self.notify_pending(self.clock())
                except (PushError, sqlite3.Error, OSError) as exc:
                    log.warning("push notifier: %s", exc)
                if stop.is_set():
                    break
                self._wake.wait(interval)
        finally:
            self.close()

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
            self._prefs = None
        if self._sender is not None:
            self._sender.close()
            self._sender = None

    @property
    def store(self) -> SubscriptionStore:
        if self._store is None:
            self._store = SubscriptionStore(self.store_path)
            self._store.db.executescript(_SCHEMA)
        return self._store

    @property
    def preferences(self) -> PreferenceStore:
        if self._prefs is None:
            self._prefs = PreferenceStore(self.store.db,
                                          motion_default=self.cfg.notify_on_motion)
        return self._prefs

    @property
    def sender(self) -> PushSender:
        if self._sender is None:
            self._sender = self._make_sender()
        return self._sender

    def notify_pending(self, now: float) -> NotifyReport:
        """Send what is due: alerts, events, new requests and retries."""
        report = NotifyReport()
        if not self.cfg.enabled:
            return report
        self._send_alerts(now, report)
        self._send_events(now, report)
        pending = self._pending_requests(now)
        report.new_requests = self._enqueue(pending, now)
        db = self.store.db
        due = db.execute(
            "SELECT request_id, subscription_id, agency, attempts FROM outbox "
            "WHERE done_at IS NULL AND next_at <= ? "
            "ORDER BY next_at, request_id, subscription_id", (now,)).fetchall()
        for request_id, sub_id, agency, attempts in due:
            if request_id not in pending:
                self._finish(request_id, sub_id, now, "request no longer pending")
                continue
            sub = self.store.get(sub_id)
            if sub is None:
                self._finish(request_id, sub_id, now, "subscription removed")
                continue
            prefs = self.preferences.get(sub.account)
            if Kind.REQUEST not in prefs.kinds:
                self._finish(request_id, sub_id, now, "not wanted by the account")
                continue
            if prefs.snoozed(now):  # stays due: sent on the first pass after the snooze
                report.snoozed += 1
                continue
            self._deliver(sub, request_message(request_id, agency), request_id, attempts,
                          now, report)
        report.pruned = self._prune(pending, now)
        return report

    def _prune(self, pending: dict[str, str], now: float) -> int:
        """Forget requests first seen long ago that are no longer pending (decided or
        expired: they never will be again), one bounded batch; how many."""
        if now < self._next_prune or not self.book_path.exists():
            return 0
        db = self.store.db
        db.execute("BEGIN IMMEDIATE")
        try:
            done = [(r[0],) for r in db.execute(
                "SELECT request_id FROM notified WHERE first_seen < ? AND request_id NOT IN "
                "(SELECT value FROM json_each(?)) ORDER BY first_seen LIMIT ?",
                (now - self.keep_notified_s, json.dumps(list(pending)), self.prune_batch))]
            db.executemany("DELETE FROM outbox WHERE request_id = ?", done)
            db.executemany("DELETE FROM notified WHERE request_id = ?", done)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        # A full batch may have left more: the next pass goes on.
        self._next_prune = now if len(done) == self.prune_batch else now + PRUNE_EVERY_S
        if done:
            log.info("push: forgot %d request(s) no longer pending", len(done))
        return len(done)

    def _pending_requests(self, now: float) -> dict[str, str]:
        """{request id: agency name} of pending, shown, unexpired requests, read-only."""
        if not self.book_path.exists():
            return {}
        book = sqlite3.connect(f"{self.book_path.resolve().as_uri()}?mode=ro", uri=True,
                               timeout=10.0)
        try:
            rows = book.execute(
                "SELECT request_id, public FROM requests WHERE status = ? "
                "AND shown_at IS NOT NULL AND expires_at > ? ORDER BY received_at",
                (RequestStatus.PENDING, now)).fetchall()
        finally:
            book.close()
        out = {}
        for request_id, public in rows:
            try:
                agency = json.loads(public).get("agency")
            except (ValueError, AttributeError):
                agency = None
            out[request_id] = agency if isinstance(agency, str) else ""
        return out

    def _enqueue(self, pending: dict[str, str], now: float) -> list[str]:
        db = self.store.db
        seen = {r[0] for r in db.execute("SELECT request_id FROM notified")}
        new = [rid for rid in pending if rid not in seen]
        if not new:
            return []
        subs = self.store.all()
        db.execute("BEGIN IMMEDIATE")
        try:
            for rid in new:
                db.execute("INSERT INTO notified VALUES (?, ?)", (rid, now))
                db.executemany(
                    "INSERT INTO outbox (request_id, subscription_id, agency, next_at) "
                    "VALUES (?,?,?,?)", [(rid, s.id, pending[rid], now) for s in subs])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        log.info("push: %d new request(s) for %d subscription(s)", len(new), len(subs))
        return new

    def _deliver(self, sub: Subscription, message: Message, request_id: str, attempts: int,
                 now: float, report: NotifyReport) -> None:
        held = self._held_until(sub, now)
        if held is not None:
            self.store.db.execute(
                "UPDATE outbox SET next_at = ? WHERE request_id = ? AND subscription_id = ?",
                (held, request_id, sub.id))
            report.held += 1
            return
        try:
            self.sender.send(Target(sub.endpoint, sub.p256dh, sub.auth), message.payload(),
                             ttl=self.cfg.ttl_s, urgency="normal")
        except (SubscriptionGone, EndpointNotAllowed) as exc:
            log.info("push: dropping subscription %d of %s: %s", sub.id, sub.account, exc)
            self._drop(sub.id)
            report.dropped += 1
        except RetryLater as exc:
            attempts += 1
            if self._failed(sub, exc, now, report):
                return
            if attempts >= self.max_attempts:
                log.warning("push: giving up request %s to subscription %d after %d "
                            "attempts: %s", request_id, sub.id, attempts, exc)
                self._finish(request_id, sub.id, now, f"gave up: {exc}", attempts)
                report.failed += 1
                return
            wait = min(RETRY_MAX_S, RETRY_BASE_S * 2 ** (attempts - 1))
            if exc.retry_after is not None:
                wait = max(wait, exc.retry_after)
            self.store.db.execute(
                "UPDATE outbox SET attempts = ?, next_at = ?, outcome = ? "
                "WHERE request_id = ? AND subscription_id = ?",
                (attempts, now + wait, str(exc)[:200], request_id, sub.id))
            log.info("push: request %s to subscription %d: %s; retry in %.0f s",
                     request_id, sub.id, exc, wait)
            report.retrying += 1
        except DeliveryError as exc:
            log.warning("push: request %s to subscription %d failed: %s",
                        request_id, sub.id, exc)
            if not self._failed(sub, exc, now, report):
                self._finish(request_id, sub.id, now, f"failed: {exc}", attempts + 1)
            report.failed += 1
        else:
            self.store.succeeded(sub.id, now)
            self._finish(request_id, sub.id, now, "delivered", attempts + 1)
            report.delivered += 1

    def _held_until(self, sub: Subscription, now: float) -> float | None:
        """When the subscription's push service said to come back, if that is still ahead."""
        until = self._held.get(_origin(sub.endpoint))
        return until if until is not None and until > now else None

    def _failed(self, sub: Subscription, exc: DeliveryError, now: float,
                report: NotifyReport) -> bool:
        """Count a failure (holding its push service if it said Retry-After); True if the
        subscription has now failed for so long that it was dropped."""
        if isinstance(exc, RetryLater) and exc.retry_after is not None:
            origin = _origin(sub.endpoint)
            self._held[origin] = max(self._held.get(origin, now), now + exc.retry_after)
        row = self.store.failed(sub.id, str(exc), now)
        if (row is None or row.failing_since is None or row.failures < STALE_FAILURES
                or now - row.failing_since < STALE_AFTER_S):
            return False
        log.warning("push: dropping subscription %d of %s: %d failures in a row over %.0f "
                    "day(s), the last: %s", sub.id, sub.account, row.failures,
                    (now - row.failing_since) / 86400, exc)
        self._drop(sub.id)
        report.dropped += 1
        return True

    def _finish(self, request_id: str, sub_id: int, now: float, outcome: str,
                attempts: int | None = None) -> None:
        self.store.db.execute(
            "UPDATE outbox SET done_at = ?, outcome = ?, attempts = COALESCE(?, attempts) "
            "WHERE request_id = ? AND subscription_id = ?",
            (now, outcome[:200], attempts, request_id, sub_id))

    def _drop(self, sub_id: int) -> None:
        self.store.drop(sub_id)
        self.store.db.execute("DELETE FROM outbox WHERE subscription_id = ? "
                              "AND done_at IS NULL", (sub_id,))

    def _send_alerts(self, now: float, report: NotifyReport) -> None:
        with self._lock:
            alerts, self._alerts = self._alerts, []
        for account, text, url in alerts:
            subs = self.store.all(account)
            report.alerts += self._send_now(alert_message(text, url), "alert", subs, now,
                                            report)

    def _send_events(self, now: float, report: NotifyReport) -> None:
        with self._lock:
            events, self._events = self._events, {}
        if not events:
            return
        prefs = self.preferences
        for kind in (Kind.RING, Kind.PERSON, Kind.MOTION):
            if kind not in events:
                continue
            if kind is not Kind.RING:
                if now - self._last_push.get(kind, float("-inf")) < MOTION_GAP_S:
                    continue
                self._last_push[kind] = now
            subs = []
            for sub in self.store.all():
                if prefs.get(sub.account).wants(kind, now):
                    subs.append(sub)
                else:
                    report.unwanted += 1
            sent = self._send_now(event_message(kind), kind.value, subs, now, report)
            if kind is Kind.RING:
                report.rings += sent
            elif kind is Kind.PERSON:
                report.people += sent
            else:
                report.motion += sent

    def _send_now(self, message: Message, topic: str, subs: list[Subscription], now: float,
                  report: NotifyReport) -> int:
        """One best-effort push to each of `subs`, kept briefly; how many took it."""
        payload, sent = message.payload(), 0
        for sub in subs:
            if self._held_until(sub, now) is not None:
                report.held += 1
                continue
            try:
                self.sender.send(Target(sub.endpoint, sub.p256dh, sub.auth), payload,
                                 ttl=min(self.cfg.ttl_s, MOTION_TTL_S), urgency="high",
                                 topic=topic)
            except (SubscriptionGone, EndpointNotAllowed) as exc:
                log.info("push: dropping subscription %d: %s", sub.id, exc)
                self._drop(sub.id)
                report.dropped += 1
            except DeliveryError as exc:
                log.info("push: %s to subscription %d: %s", topic, sub.id, exc)
                self._failed(sub, exc, now, report)
            else:
                self.store.succeeded(sub.id, now)
                sent += 1
        return sent


def _origin(endpoint: str) -> str:
    try:
        return audience(endpoint)
    except ValueError:
        return endpoint
