"""Assemble the consent-gated uplink from config: desk, worker, catalog over the clip store.

Files beside the clips (store.path): uplink.sqlite3 (requests, decisions, replay ledger:
one database, so a request and its claimed id are stored together),
audit.sqlite3 (+ .head), registry.state and .source (device/wiring/registry.py),
uploads.sqlite3 (tus resume), device_key.pem.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from config import Config
from device.store import ClipNotFound, ClipRecord, ClipStore
from device.wiring.paths import DevicePaths
from device.wiring.registry import LiveRegistry
from uplink.audit import AuditLog
from uplink.desk import (
    ClipInfo,
    DeviceIdentity,
    RequestDesk,
    UploadWorker,
    load_or_create_device_key,
)
from uplink.protocol import public_key_from_text
from uplink.upload.resume import SqliteResumeStore
from uplink.upload.transport import RequestsTransport
from uplink.upload.tus import TusClient


class StoreCatalog:
    """The clip store as the uplink sees it (uplink may not import device).

    Only camera clips recorded with a synchronised clock are matched to requests; with
    `match_simulated` (demos) simulated clips are too, whatever the clock said: the demo's
    agency dates its request by the same machine's clock.
    """

    def __init__(self, store: ClipStore, *, match_simulated: bool = False) -> None:
        self.store = store
        self.match_simulated = match_simulated

    def _offerable(self, rec: ClipRecord) -> bool:
        return self.match_simulated if rec.simulated else rec.clock_synced

    @staticmethod
    def _info(rec: ClipRecord) -> ClipInfo:
        return ClipInfo(id=rec.id, start_wall=rec.start_wall, end_wall=rec.end_wall,
                        size=rec.size, sha256=rec.sha256)

    def overlapping(self, start: float, end: float) -> list[ClipInfo]:
        return [self._info(r) for r in self.store.list()
                if r.start_wall <= end and r.end_wall >= start and self._offerable(r)]

    def get(self, clip_id: str) -> ClipInfo | None:
        try:
            return self._info(self.store.get(clip_id))
        except ClipNotFound:
            return None

    def set_held(self, clip_id: str, held: bool) -> None:
        with suppress(ClipNotFound):
            self.store.set_held(clip_id, held)

    def path(self, clip_id: str) -> Path:
        return self.store.clip_path(clip_id)


def catalog(cfg: Config, store: ClipStore) -> StoreCatalog:
    return StoreCatalog(store, match_simulated=cfg.uplink.match_simulated)


def identity(cfg: Config) -> DeviceIdentity:
    return DeviceIdentity(cfg.device.id, cfg.device.latitude, cfg.device.longitude)


def owner_keys(cfg: Config) -> dict[str, Ed25519PublicKey]:
    keys = {}
    for entry in cfg.uplink.owner_keys:
        kid, text = entry.split(":")[:2]  # a third part is the owner's encryption key
        keys[kid] = public_key_from_text(text)
    return keys


@contextmanager
def open_desk(cfg: Config, now: float,
              registry: LiveRegistry | None = None) -> Iterator[RequestDesk]:
    """The request desk with everything it needs; closes them all on exit. The daemon passes
    its own `registry` to refresh it; otherwise the registry file is read once."""
    paths = DevicePaths.of(cfg)
    directory = LiveRegistry(cfg, now) if registry is None else registry
    store = ClipStore(cfg.store, recover=False)
    audit = AuditLog(paths.audit)
    desk = None
    try:
        desk = RequestDesk(paths.desk, directory, catalog(cfg, store), audit,
                           identity(cfg), owner_keys(cfg),
                           allow_insecure_loopback=cfg.upload.allow_insecure_loopback,
                           skew_s=cfg.uplink.clock_skew_s)
        desk.prune_ledger(now)
        yield desk
    finally:
        if desk is not None:
            desk.close()
        audit.close()
        store.close()


@contextmanager
def open_worker(cfg: Config) -> Iterator[UploadWorker]:
    """The upload worker with its own store, audit and resume connections."""
    paths = DevicePaths.of(cfg)
    store = ClipStore(cfg.store, recover=False)
    audit = AuditLog(paths.audit)
    resume = SqliteResumeStore(paths.resume)
    key, kid = load_or_create_device_key(paths.device_key)

    def client() -> TusClient:
        return TusClient(RequestsTransport(cfg.upload), cfg.upload, resume)

    worker = UploadWorker(paths.desk, catalog(cfg, store), client, key, kid, identity(cfg), audit,
                          give_up_after_s=cfg.upload.give_up_after_hours * 3600.0,
                          give_up_after_failures=cfg.upload.give_up_after_failures)
    try:
        yield worker
    finally:
        worker.close()
        audit.close()
        store.close()
