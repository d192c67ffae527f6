"""Web Push notifications to the owner's browsers (RFC 8030, 8291, 8292).

The web app calls this API; it owns the HTTP endpoints and serves `static/` (STATIC_DIR):

    push = PushService(state_dir, cfg.push, book_path=UplinkPaths.of(cfg).desk)

    push.public_key()                  -> str   the applicationServerKey for subscribe.js
                                                (base64url, uncompressed P-256 point)
    push.subscribe(account, body)      -> Subscribed   store a browser's PushSubscription
                                                JSON; raises InvalidSubscription (a message
                                                for the owner: answer 400 with it), also
                                                for an endpoint that is not at a push
                                                service (endpoints.py); the change token
                                                goes to that browser only
    push.change(account, old_endpoint, token, body) -> Subscribed
                                                the browser rotated its subscription: replace
                                                the old one; raises InvalidSubscription, or
                                                ChangeRefused unless the token is the one
                                                issued for `old_endpoint` of `account`
    push.unsubscribe(account, endpoint) -> bool
    push.subscriptions(account)        -> list[Subscription]

    push.preferences(account)          -> Preferences  which kinds notify, and the snooze
    push.set_kinds(account, kinds) / push.snooze(account, until or None)

    notifier = push.notifier()         # raises PushConfigError if enabled without contact
    stop = threading.Event()
    threading.Thread(target=notifier.run, args=(stop, 5.0), name="push").start()
    ...  notifier.event(Kind.RING)     # from any thread: a ring, person or motion
    stop.set(); notifier.wake()        # to stop

    push.alert(account, text, url="/activity")   from any thread (a request handler): a
                                                security alert to that account's browsers,
                                                whatever its settings; False when no
                                                notifier runs in this process

Files in `state_dir`: vapid_key.pem (0600, made on first use; replacing it orphans every
subscription) and push.sqlite3 (subscriptions, and what was notified). Each call of
`subscribe`/`unsubscribe`/`subscriptions` opens and closes its own connection, so request
threads never share the notifier thread's.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from config.push import PushConfig
from device.web.kinds import Kind
from device.web.push.endpoints import EndpointPolicy
from device.web.push.errors import (
    ChangeRefused,
    DeliveryError,
    InvalidSubscription,
    PushConfigError,
    PushError,
    SubscriptionGone,
)
from device.web.push.notifier import Notifier, NotifyReport
from device.web.push.preferences import Preferences, PreferenceStore
from device.web.push.sender import CALL_DEADLINE_S, PushSender, default_transport
from device.web.push.subscriptions import (
    Subscribed,
    Subscription,
    SubscriptionStore,
    check_account,
    parse_subscription,
)
from device.web.push.vapid import VapidKey

STATIC_DIR = Path(__file__).resolve().parent / "static"
KEY_FILE = "vapid_key.pem"
DB_FILE = "push.sqlite3"

__all__ = [
    "STATIC_DIR",
    "ChangeRefused",
    "DeliveryError",
    "EndpointPolicy",
    "InvalidSubscription",
    "Kind",
    "Notifier",
    "NotifyReport",
    "Preferences",
    "PushConfigError",
    "PushError",
    "PushService",
    "Subscribed",
    "Subscription",
    "SubscriptionGone",
]


class PushService:
    """The web app's handle on push: keys, subscriptions, and the notifier thread's body."""

    def __init__(self, state_dir: Path, cfg: PushConfig, *, book_path: Path,
                 deadline_s: float = CALL_DEADLINE_S) -> None:
        self.state_dir = Path(state_dir)
        self.cfg = cfg
        self.book_path = Path(book_path)
        self.deadline_s = deadline_s
        self._vapid: VapidKey | None = None
        self.policy = EndpointPolicy.of(cfg.other_services)
        self._running: Notifier | None = None

    @property
    def vapid(self) -> VapidKey:
        if self._vapid is None:
            self._vapid = VapidKey.load_or_create(self.state_dir / KEY_FILE)
        return self._vapid

    def public_key(self) -> str:
        """The `applicationServerKey` browsers subscribe with."""
        return self.vapid.public_key()

    def _store(self) -> SubscriptionStore:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return SubscriptionStore(self.state_dir / DB_FILE)

    def subscribe(self, account: str, json_body: bytes | str | dict[str, Any],
                  now: float | None = None) -> Subscribed:
        """Validate and store a subscription for `account`; its id and change token."""
        keys = parse_subscription(json_body, self.policy)
        check_account(account)
        with self._store() as store:
            return store.add(account, keys, time.time() if now is None else now)

    def change(self, account: str, old_endpoint: str, token: str,
               json_body: bytes | str | dict[str, Any], now: float | None = None
               ) -> Subscribed:
        """Replace the subscription the browser rotated, on proof it held the old one."""
        keys = parse_subscription(json_body, self.policy)
        with self._store() as store:
            done = store.change(account, old_endpoint, token, keys,
                                time.time() if now is None else now)
        if done is None:
            raise ChangeRefused("the old subscription or its change token does not match")
        return done

    def unsubscribe(self, account: str, endpoint: str) -> bool:
        with self._store() as store:
            return store.remove(account, endpoint)

    def subscriptions(self, account: str | None = None) -> list[Subscription]:
        with self._store() as store:
            return store.all(account)

    def preferences(self, account: str) -> Preferences:
        with self._store() as store:
            return self._prefs(store).get(account)

    def set_kinds(self, account: str, kinds: frozenset[Kind]) -> Preferences:
        check_account(account)
        with self._store() as store:
            return self._prefs(store).set_kinds(account, kinds)

    def snooze(self, account: str, until: float | None) -> Preferences:
        check_account(account)
        with self._store() as store:
            return self._prefs(store).snooze(account, until)

    def _prefs(self, store: SubscriptionStore) -> PreferenceStore:
        return PreferenceStore(store.db, motion_default=self.cfg.notify_on_motion)

    def alert(self, account: str, text: str, url: str = "/activity") -> bool:
        """A security alert ("Someone is guessing your password") for `account`'s browsers,
        sent by this process's push thread; False if none runs (push off)."""
        notifier = self._running
        if notifier is None:
            return False
        notifier.alert(account, text, url)
        return True

    def sender(self) -> PushSender:
        return PushSender(self.vapid, self.cfg.contact, self.policy,
                          default_transport(self.policy, self.deadline_s),
                          deadline_s=self.deadline_s)

    def notifier(self) -> Notifier:
        """The notifier for one thread of the web process (see `Notifier.run`)."""
        if self.cfg.enabled and not self.cfg.contact:
            raise PushConfigError("push.contact must be set (mailto: or https:) when push "
                                  "is enabled: push services refuse pushes without it")
        self.vapid  # noqa: B018  (made now, in the caller's thread, not on the first push)
        self._running = Notifier(self.book_path, self.state_dir / DB_FILE, self.sender,
                                 self.cfg)
        return self._running
