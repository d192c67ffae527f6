"""A device world for consent tests: real keys, registry, SQLite, files and a tus receiver."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from config.upload import UploadConfig
from tests.uplink.protocol.world import (
    AGENCY_ID,
    AGENCY_KID,
    NOW,
    World,
    agency_entry,
    request_body,
)
from uplink.agency.receiver import TusReceiver
from uplink.audit import AuditLog
from uplink.desk import (
    ClipInfo,
    DeviceIdentity,
    RequestDesk,
    UploadWorker,
    load_or_create_device_key,
)
from uplink.protocol import sign_document
from uplink.protocol.fields import format_time
from uplink.protocol.keys import generate_keypair
from uplink.upload.resume import SqliteResumeStore
from uplink.upload.transport import RequestsTransport
from uplink.upload.tus import TusClient

DEVICE = DeviceIdentity("porch-1", 40.6930, -73.9905)  # inside the test request's circle
OWNER_KID = "owner-phone"


class FileCatalog:
    """Test double of the clip store: real files in a folder, holds in a dict."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.clips: dict[str, ClipInfo] = {}
        self.held: dict[str, bool] = {}

    def add(self, index: int, start: float, seconds: float = 20.0, size: int = 50_000) -> str:
        clip_id = f"20250615T{13 + index // 60:02d}{index % 60:02d}00Z-{index:08x}"
        data = hashlib.sha256(clip_id.encode()).digest() * (size // 32)
        path = self.root / f"{clip_id}.mp4"
        path.write_bytes(data)
        self.clips[clip_id] = ClipInfo(clip_id, start, start + seconds, len(data),
                                       hashlib.sha256(data).hexdigest())
        return clip_id

    def overlapping(self, start: float, end: float) -> list[ClipInfo]:
        return [c for c in self.clips.values() if c.start_wall <= end and c.end_wall >= start]

    def get(self, clip_id: str) -> ClipInfo | None:
        return self.clips.get(clip_id)

    def set_held(self, clip_id: str, held: bool) -> None:
        self.held[clip_id] = held

    def path(self, clip_id: str) -> Path:
        return self.root / f"{clip_id}.mp4"


@dataclass
class Device:
    """One device: desk + worker over the same files, reopenable to simulate restarts."""

    tmp: Path
    world: World
    receiver: TusReceiver
    catalog: FileCatalog
    owner_key: Any
    registry: Any = None
    opened: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        host = self.receiver.url.split("/")[2]
        self.registry = self.world.registry(
            agencies=[agency_entry(self.world.agency_public, upload_hosts=[host])])

    def request(self, **top: Any) -> bytes:
        body = request_body(upload_url=self.receiver.url, request_id=str(uuid.uuid4()))
        body.update(top)
        return self.world.payload(body)

    def desk(self) -> RequestDesk:
        audit = AuditLog(self.tmp / "audit.sqlite3")
        desk = RequestDesk.on_book(self.tmp / "uplink.sqlite3", self.registry, self.catalog,
                                   audit, DEVICE, {OWNER_KID: self.owner_key.public_key()},
                                   allow_insecure_loopback=True)
        self.opened += [desk, audit]
        return desk

    def worker(self, at: float = float(NOW), **extra: Any) -> UploadWorker:
        """A worker as the daemon builds it (a fresh one per 'process'), clock fixed at `at`."""
        cfg = UploadConfig(allow_insecure_loopback=True, max_attempts=2, backoff_base_s=0.0,
                           call_deadline_s=10.0)
        resume = SqliteResumeStore(self.tmp / "uploads.sqlite3")
        key, kid = load_or_create_device_key(self.tmp / "device_key.pem")
        audit = AuditLog(self.tmp / "audit.sqlite3")

        def client() -> TusClient:
            return TusClient(RequestsTransport(cfg), cfg, resume)

        worker = UploadWorker(self.tmp / "uplink.sqlite3", self.catalog, client, key, kid,
                              DEVICE, audit, clock=lambda: at,
                              **{"agencies": lambda: self.registry, **extra})
        self.opened += [worker, audit]
        return worker

    def owner_decision(self, request_id: str, clips: list[tuple[str, str]], *,
                       verdict: str = "accept", destination: str | None = None,
                       key: Any = None, kid: str = OWNER_KID, **top: Any) -> bytes:
        doc = {"type": "decision", "protocol": 1, "decision_id": str(uuid.uuid4()),
               "request_id": request_id, "device_id": DEVICE.device_id, "verdict": verdict,
               "clips": [{"id": c, "sha256": s} for c, s in clips],
               "destination": self.receiver.url if destination is None else destination,
               "issued_at": format_time(NOW), "request_sha256": self.body_sha256(request_id)}
        doc.update(top)
        return json.dumps(sign_document(doc, key or self.owner_key, kid)).encode()

    def body_sha256(self, request_id: str) -> str:
        """The body hash the device stored for the request (what a decision binds)."""
        with closing(sqlite3.connect(self.tmp / "uplink.sqlite3")) as db:
            row = db.execute("SELECT body_sha256 FROM requests WHERE request_id = ?",
                             (request_id,)).fetchone()
        return str(row[0]) if row else "0" * 64

    def close(self) -> None:
        for thing in reversed(self.opened):
            thing.close()
        self.opened.clear()


@pytest.fixture
def device(tmp_path: Path) -> Iterator[Device]:
    world = World(tmp_path / "keys", generate_keypair()[0], generate_keypair()[0])
    world.tmp.mkdir()
    # The agency's receiver signs receipts with the agency's registered key, as a real one would.
    receiver = TusReceiver(tmp_path / "received", receipt_key=world.agency_key,
                           receipt_kid=AGENCY_KID, clock=lambda: float(NOW)).start()
    clips = tmp_path / "clips"
    clips.mkdir()
    dev = Device(tmp_path, world, receiver, FileCatalog(clips), generate_keypair()[0])
    yield dev
    dev.close()
    receiver.stop()


__all__ = ["AGENCY_ID", "DEVICE", "NOW", "Device", "FileCatalog"]
