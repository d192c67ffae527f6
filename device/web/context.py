"""What one request of the web app opens: config, paths, the clip view, the desk, the logs.

Every handler opens what it needs and closes it before returning (SQLite connections belong
to one thread, and handlers run in a thread pool), through the same APIs the CLI uses.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from config import Config
from device.store.view import ClipView
from device.web.access import open_access_log
from device.web.accounts import Accounts
from device.web.seen import SeenHeads
from device.wiring.desk import open_decisions
from device.wiring.paths import DevicePaths
from uplink.audit import AuditLog
from uplink.desk.book import RequestBook
from uplink.desk.decisions import Decisions
from uplink.errors import RegistryError
from uplink.protocol import RegistryStore, public_key_from_text
from uplink.protocol.registry import Registry

if TYPE_CHECKING:  # imported only when push is on
    from device.web.push import PushService


class Unavailable(Exception):
    """A part of the device the page needs is not set up; the message says what."""


@dataclasses.dataclass(frozen=True)
class WebPaths:
    """The device's files (`device.wiring.paths`) plus the web app's own: accounts, access
    log, TLS certificate and key."""

    root: Path
    desk: Path
    audit: Path
    registry: Path
    registry_state: Path
    device_key: Path
    accounts: Path
    access: Path
    cert: Path
    key: Path
    push: Path  # the VAPID key and push.sqlite3 (subscriptions, what was notified)
    live: Path  # the daemon's live view files (on tmpfs), read only

    @classmethod
    def of(cls, cfg: Config) -> WebPaths:
        d = DevicePaths.of(cfg)
        web = d.root / "web"
        return cls(
            root=d.root, desk=d.desk, audit=d.audit, registry=d.registry,
            registry_state=d.registry_state, device_key=d.device_key,
            accounts=web / "accounts.sqlite3", access=web / "access.sqlite3",
            cert=Path(cfg.web.cert_file).expanduser() if cfg.web.cert_file
            else web / "cert.pem",
            key=Path(cfg.web.key_file).expanduser() if cfg.web.key_file else web / "key.pem",
            push=web, live=d.live)


class WebContext:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.paths = WebPaths.of(cfg)
        self._push: PushService | None = None

    @property
    def push(self) -> PushService:
        """Web Push keys and subscriptions (each call opens and closes its own database)."""
        if self._push is None:
            from device.web.push import PushService

            self._push = PushService(self.paths.push, self.cfg.push, book_path=self.paths.desk)
        return self._push

    @contextmanager
    def clips(self) -> Iterator[ClipView]:
        with ClipView(self.paths.root) as view:
            yield view

    @contextmanager
    def accounts(self) -> Iterator[Accounts]:
        with Accounts(self.paths.accounts) as acc:
            yield acc

    @contextmanager
    def access(self) -> Iterator[AuditLog]:
        self.paths.access.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open_access_log(self.paths.access) as log:
            yield log

    @contextmanager
    def seen(self) -> Iterator[SeenHeads]:
        """The audit head the Activity page last verified (kept beside the access log)."""
        self.paths.access.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with SeenHeads(self.paths.access) as seen:
            yield seen

    @contextmanager
    def audit(self) -> Iterator[AuditLog | None]:
        if not self.paths.audit.exists():
            yield None
            return
        with AuditLog(self.paths.audit) as log:
            yield log

    def registry(self, now: float) -> Registry:
        """The trusted agency registry, verified; Unavailable says why not."""
        if not self.cfg.uplink.registry_key:
            raise Unavailable("agency requests are not set up: [uplink] registry_key is empty")
        try:
            key = public_key_from_text(self.cfg.uplink.registry_key)
            data = self.paths.registry.read_bytes()
            return RegistryStore(self.paths.registry_state, key).accept(data, now)
        except ValueError as exc:
            raise Unavailable(f"uplink.registry_key: {exc}") from None
        except OSError as exc:
            raise Unavailable(f"agency registry {self.paths.registry}: "
                              f"{exc.strerror or exc}") from None
        except RegistryError as exc:
            raise Unavailable(f"agency registry {self.paths.registry}: {exc}") from None

    @contextmanager
    def book(self) -> Iterator[RequestBook | None]:
        """The request book for reading, None before any request arrived."""
        if not self.paths.desk.exists():
            yield None
            return
        book = RequestBook(self.paths.desk)
        try:
            yield book
        finally:
            book.close()

    @contextmanager
    def decisions(self) -> Iterator[Decisions]:
        """The deciding half of the request desk, built as the daemon and `doorcam requests`
        build it (the same offerable filter), to record the owner's decisions."""
        with ClipView(self.paths.root) as view, open_decisions(self.cfg, view) as decisions:
            yield decisions
