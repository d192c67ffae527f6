"""The upload worker: sends exactly what the owner accepted, to exactly where, then the
signed evidence manifest. Its only input is the `decisions` table."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common import sha256_file, write_atomic
from uplink.audit import AuditKind, AuditLog
from uplink.desk.book import DecisionRow, RequestBook
from uplink.desk.catalog import ClipCatalog, DeviceIdentity
from uplink.errors import PermanentUploadError, TransientUploadError, UploadError
from uplink.protocol.evidence import MANIFEST_NAME, EvidenceClip, build_manifest
from uplink.upload.retry import UploadCancelled
from uplink.upload.tus import TusClient, UploadMetadata

log = logging.getLogger("doorcam.uploads")


@dataclass(frozen=True)
class UploadReport:
    request_id: str
    done: bool
    uploaded: tuple[str, ...]
    error: str | None = None

    def __str__(self) -> str:
        state = "complete" if self.done else f"not finished ({self.error})"
        return f"request {self.request_id}: {len(self.uploaded)} clip(s) sent, {state}"


class UploadWorker:
    """Owns its own request-book connection; run it on one thread."""

    def __init__(self, db_path: Path, catalog: ClipCatalog,
                 client_factory: Callable[[], TusClient], device_key: Ed25519PrivateKey,
                 device_kid: str, identity: DeviceIdentity, audit: AuditLog, *,
                 clock: Callable[[], float] = time.time, give_up_after_s: float = 72 * 3600.0,
                 give_up_after_failures: int = 0) -> None:
        self.book = RequestBook(db_path)
        self.db_path = Path(db_path)
        self.catalog = catalog
        self.client_factory = client_factory
        self.key, self.kid = device_key, device_kid
        self.identity = identity
        self.audit = audit
        self.clock = clock
        # Failed rounds are counted in the book (they survive restarts); 0 failures = no limit.
        self.give_up_after_s = give_up_after_s
        self.give_up_after_failures = give_up_after_failures

    def close(self) -> None:
        self.book.close()

    def run_once(self, cancel: threading.Event | None = None) -> list[UploadReport]:
        reports = []
        for decision in self.book.open_accepted():
            if cancel is not None and cancel.is_set():
                break
            reports.append(self._upload(decision, cancel))
        return reports

    def _upload(self, d: DecisionRow, cancel: threading.Event | None) -> UploadReport:
        request = self.book.request(d.request_id)
        assert request is not None, "a decision always has its request"
        hosts = frozenset(request.allowed_hosts)
        client = self.client_factory()
        uploaded = list(d.uploaded)
        try:
            for clip_id, sha in d.clips:
                if clip_id in uploaded:
                    continue
                client.upload_file(
                    self.catalog.path(clip_id), d.destination,
                    UploadMetadata(f"{clip_id}.mp4", sha, d.request_id, clip_id),
                    f"{d.request_id}/{clip_id}", allowed_hosts=hosts, cancel=cancel)
                uploaded.append(clip_id)
                self.book.mark_uploaded(d.request_id, uploaded)
            manifest = self._manifest(d, request.public.get("case", ""), request.agency_id)
            client.upload_file(
                manifest, d.destination,
                UploadMetadata(MANIFEST_NAME, sha256_file(manifest), d.request_id, "manifest",
                               "application/json"),
                f"{d.request_id}/manifest", allowed_hosts=hosts, cancel=cancel)
        except PermanentUploadError as exc:
            return self._failed(d, uploaded, exc, permanent=True)
        except UploadCancelled:  # the daemon is stopping: not a failure of the destination
            return UploadReport(d.request_id, False, tuple(uploaded), "cancelled")
        except (TransientUploadError, UploadError, OSError) as exc:
            return self._failed(d, uploaded, exc, permanent=False)
        finally:
            client.transport.close()
        now = self.clock()
        if self.book.finish(d.request_id, now, None):  # else another worker closed it
            self.audit.append(AuditKind.UPLOADED, d.request_id,
                              {"destination": d.destination,
                               "clips": [list(c) for c in d.clips], "manifest": True}, at=now)
        self._release(c for c, _ in d.clips)
        log.info("evidence for request %s delivered: %d clip(s) and the signed manifest",
                 d.request_id, len(d.clips))
        return UploadReport(d.request_id, True, tuple(uploaded))

    def _failed(self, d: DecisionRow, uploaded: list[str], exc: Exception, *,
                permanent: bool) -> UploadReport:
        """Permanent: failed for good. Transient: counted; the first failure of the streak is
        audited, and once the give-up limit is reached the upload fails for good too."""
        now = self.clock()
        message = f"{type(exc).__name__}: {exc}"[:300]
        detail: dict[str, object] = {"error": message, "permanent": permanent,
                                     "uploaded": uploaded}
        if not permanent:
            failures, since = self.book.count_failure(d.request_id, now)
            if not self._give_up(failures, now - since):
                if failures == 1:
                    self.audit.append(AuditKind.FAILED, d.request_id, detail, at=now)
                log.warning("upload for request %s will be retried (%d failed round(s) in "
                            "%.1f h): %s", d.request_id, failures, (now - since) / 3600, message)
                return UploadReport(d.request_id, False, tuple(uploaded), message)
            message = (f"gave up after {failures} failed round(s) in "
                       f"{(now - since) / 3600:.1f} h; last: {message}")
            detail = {**detail, "error": message, "permanent": True, "gave_up": True,
                      "failures": failures, "failing_since": since}
        if self.book.finish(d.request_id, now, message):  # else another worker closed it
            self._release(c for c, _ in d.clips)
            self.audit.append(AuditKind.FAILED, d.request_id, detail, at=now)
        log.warning("upload for request %s failed for good: %s", d.request_id, message)
        return UploadReport(d.request_id, False, tuple(uploaded), message)

    def _give_up(self, failures: int, failing_for_s: float) -> bool:
        return failing_for_s >= self.give_up_after_s or (
            0 < self.give_up_after_failures <= failures)

    def _manifest(self, d: DecisionRow, case_number: str, agency_id: str) -> Path:
        """The manifest file, written once so a resumed upload sends the same bytes."""
        path = self.db_path.parent / "manifests" / f"{d.request_id}.json"
        if path.exists():
            return path
        clips = []
        for clip_id, sha in d.clips:
            info = self.catalog.get(clip_id)
            if info is None or info.sha256 != sha:
                raise PermanentUploadError(f"clip {clip_id} changed or vanished after consent")
            clips.append(EvidenceClip(clip_id, info.start_wall, info.end_wall, info.size, sha))
        data = build_manifest(request_id=d.request_id, case_number=case_number,
                              agency_id=agency_id, device_id=self.identity.device_id,
                              clips=clips, key=self.key, kid=self.kid, now=self.clock())
        path.parent.mkdir(mode=0o700, exist_ok=True)
        write_atomic(path, data, 0o600)
        return path

    def _release(self, clip_ids: Iterable[str]) -> None:
        for cid in clip_ids:
            if not self.book.clip_still_needed(cid):
                self.catalog.set_held(cid, False)

