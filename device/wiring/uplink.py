"""Assemble the consent-gated uplink from config: desk, worker, catalog over the clip store.

Files beside the clips (store.path): uplink.sqlite3 (requests, decisions, replay ledger:
one database, so a request and its claimed id are stored together),
audit.sqlite3 (+ .head), registry.state and .source (device/wiring/registry.py),
uploads.sqlite3 (tus resume), device_key.pem.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from config import Config
from device.store import ClipStore
from device.wiring.desk import catalog, identity, open_decisions
from device.wiring.paths import DevicePaths
from device.wiring.registry import LiveRegistry
from uplink.audit import AuditLog
from uplink.desk import RequestDesk, UploadWorker, load_or_create_device_key
from uplink.desk.media_key import CredentialsKey, load_or_create_credentials_key
from uplink.desk.scope import CutFailed, CutSpan
from uplink.errors import RegistryError, RequestRejected
from uplink.protocol import Registry, RegistryStore, public_key_from_text
from uplink.protocol.credentials import available as credentials_available
from uplink.protocol.request import OwnerPolicy
from uplink.upload.resume import SqliteResumeStore
from uplink.upload.transport import RequestsTransport
from uplink.upload.tus import TusClient

log = logging.getLogger(__name__)


class MediaCutter:
    """The uplink's `ClipCutter`, done by remuxing in capture/media (no re-encode)."""

    def cut(self, source: Path, dest: Path, start_s: float, end_s: float) -> CutSpan | None:
        from capture.media.cut import CutError, cut_clip  # loads PyAV only when cutting

        try:
            span = cut_clip(source, dest, start_s, end_s)
        except CutError as exc:
            raise CutFailed(str(exc)) from None
        return None if span is None else CutSpan(span.start_s, span.end_s)


def owner_policy(cfg: Config) -> OwnerPolicy:
    """The owner's limits on which requests may be shown ([uplink], within the protocol's)."""
    u = cfg.uplink
    return OwnerPolicy(min_window_s=u.min_window_minutes * 60,
                       max_window_s=u.max_window_minutes * 60,
                       min_area_sq_mi=u.min_area_sq_mi, max_area_sq_mi=u.max_area_sq_mi,
                       agencies=frozenset(u.accept_agencies),
                       incident_types=frozenset(u.accept_incident_types))


def owner_keys(cfg: Config) -> dict[str, Ed25519PublicKey]:
    return {o.kid: public_key_from_text(o.signing_key) for o in cfg.uplink.owners}


@contextmanager
def open_desk(cfg: Config, now: float,
              registry: LiveRegistry | None = None) -> Iterator[RequestDesk]:
    """The request desk with everything it needs; closes them all on exit. The daemon passes
    its own `registry` to refresh it; otherwise the registry file is read once."""
    directory = LiveRegistry(cfg, now) if registry is None else registry
    with closing(ClipStore(cfg.store, recover=False)) as store, \
            open_decisions(cfg, store) as decisions:
        desk = RequestDesk(decisions, directory, identity(cfg), owner_keys(cfg),
                           allow_insecure_loopback=cfg.upload.allow_insecure_loopback,
                           skew_s=cfg.uplink.clock_skew_s, policy=owner_policy(cfg))
        desk.prune_ledger(now)
        yield desk


def credentials_key(key: Ed25519PrivateKey, key_path: Path, device_id: str,
                    ) -> CredentialsKey | None:
    """What signs shared clips' Content Credentials; None (with a warning) where the C2PA
    library is not installed (it is not packaged by Debian)."""
    if not credentials_available():
        log.warning("shared clips go without Content Credentials: the C2PA library "
                    "(c2pa-python) is not installed")
        return None
    return load_or_create_credentials_key(key, key_path, device_id)


@contextmanager
def open_worker(cfg: Config) -> Iterator[UploadWorker]:
    """The upload worker with its own store, audit and resume connections."""
    paths = DevicePaths.of(cfg)
    with ExitStack() as opened:  # what opened is closed however the worker's making fails
        store = opened.enter_context(closing(ClipStore(cfg.store, recover=False)))
        audit = opened.enter_context(closing(AuditLog(paths.audit)))
        worker = _upload_worker(cfg, paths, store, audit)
        opened.callback(worker.close)
        yield worker


def _upload_worker(cfg: Config, paths: DevicePaths, store: ClipStore,
                   audit: AuditLog) -> UploadWorker:
    resume = SqliteResumeStore(paths.resume)
    key, kid = load_or_create_device_key(paths.device_key)

    def client() -> TusClient:
        return TusClient(RequestsTransport(cfg.upload), cfg.upload, resume)

    def agencies() -> Registry | None:
        """The registry as trusted now, read without recording it (the desk does that); an
        older one than the device accepted before (a rollback) is none."""
        try:
            key = public_key_from_text(cfg.uplink.registry_key)
            return RegistryStore(paths.registry_state, key).check(paths.registry.read_bytes(),
                                                                  time.time())
        except (ValueError, OSError, RegistryError, RequestRejected):
            return None

    return UploadWorker(paths.desk, catalog(cfg, store), client, key, kid, identity(cfg), audit,
                        give_up_after_s=cfg.upload.give_up_after_hours * 3600.0,
                        give_up_after_failures=cfg.upload.give_up_after_failures,
                        cutter=MediaCutter(), agencies=agencies,
                        credentials=credentials_key(key, paths.device_key, cfg.device.id))
