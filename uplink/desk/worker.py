"""The upload worker: sends exactly what the owner accepted, to exactly where, then the
signed evidence manifest. Its only input is the `decisions` table."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common import sha256_file_and_size, write_atomic
from uplink.audit import AuditKind, AuditLog
from uplink.desk.book import DecisionRow, RequestBook, RequestRow
from uplink.desk.catalog import ClipCatalog, DeviceIdentity
from uplink.desk.credentials import RequestCredentials
from uplink.desk.media_key import CredentialsKey
from uplink.desk.receipt import fetch_receipt
from uplink.desk.scope import ClipCutter, Item, Scope
from uplink.desk.standing import check_standing
from uplink.errors import (
    PermanentUploadError,
    RequestRejected,
    TransientUploadError,
    UploadError,
)
from uplink.protocol.evidence import MANIFEST_NAME, build_manifest
from uplink.protocol.receipt import ReceivedFile, verify_receipt
from uplink.protocol.validator import AgencyDirectory
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
                 give_up_after_failures: int = 0, cutter: ClipCutter | None = None,
                 agencies: Callable[[], AgencyDirectory | None] | None = None,
                 credentials: CredentialsKey | None = None) -> None:
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
        # Without a cutter whole clips are sent (the device's wiring always gives one).
        self.cutter = cutter
        # The agency registry as now trusted, to check the destination before sending and
        # the receipt after (None: nothing is sent).
        self.agencies = agencies
        # Signs the Content Credentials of shared clips (None: they go without).
        self.credentials = credentials

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
        scope = Scope(self.db_path.parent / "manifests", d.request_id)
        client = self.client_factory()
        uploaded = list(d.uploaded)
        try:
            # Before every round, resumed ones too: a registry installed since may have
            # dropped the agency, its host or its key.
            check_standing(request, self.agencies() if self.agencies is not None else None,
                           allow_insecure_loopback=client.cfg.allow_insecure_loopback)
            items = self._prepare(d, request, scope)
            for item in items:
                clip_id = item.evidence.clip_id
                if clip_id in uploaded:
                    continue
                client.upload_file(
                    item.path, d.destination,
                    UploadMetadata(f"{clip_id}.mp4", item.evidence.sha256, d.request_id,
                                   clip_id),
                    f"{d.request_id}/{clip_id}", allowed_hosts=hosts, cancel=cancel)
                uploaded.append(clip_id)
                self.book.mark_uploaded(d.request_id, uploaded)
            manifest_sha, manifest_size = sha256_file_and_size(scope.manifest)
            client.upload_file(
                scope.manifest, d.destination,
                UploadMetadata(MANIFEST_NAME, manifest_sha, d.request_id, "manifest",
                               "application/json"),
                f"{d.request_id}/manifest", allowed_hosts=hosts, cancel=cancel)
            receipt = fetch_receipt(client, d.destination, d.request_id, hosts)
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
                               "clips": [list(c) for c in d.clips], "manifest": True,
                               "cut": [i.evidence.clip_id for i in items if i.cut]},
                              at=now)
            sent = [ReceivedFile(i.evidence.sha256, i.evidence.size) for i in items]
            sent.append(ReceivedFile(manifest_sha, manifest_size))
            self._receipt(scope, request.agency_id, receipt, sent, now)
        scope.remove_cuts([c for c, _ in d.clips])
        self._release(c for c, _ in d.clips)
        log.info("evidence for request %s delivered: %d clip(s) and the signed manifest",
                 d.request_id, len(d.clips))
        return UploadReport(d.request_id, True, tuple(uploaded))

    def _prepare(self, d: DecisionRow, request: RequestRow, scope: Scope) -> list[Item]:
        """The files to send and their signed manifest, made once (cuts included) so a
        resumed upload sends the same bytes."""
        resumed = scope.resumed(self.catalog.path)
        if resumed is not None:
            return resumed
        window = request.public.get("window")
        if not (isinstance(window, list) and len(window) == 2):
            raise PermanentUploadError(f"request {d.request_id} has no time window on record")
        stamp = None if self.credentials is None else RequestCredentials(
            self.credentials, device_id=self.identity.device_id, request_id=d.request_id,
            case_number=str(request.public.get("case", "")), agency_id=request.agency_id)
        items = scope.prepare(list(d.clips), self.catalog, self.cutter,
                              (float(window[0]), float(window[1])), stamp)
        data = build_manifest(request_id=d.request_id,
                              case_number=str(request.public.get("case", "")),
                              agency_id=request.agency_id, device_id=self.identity.device_id,
                              clips=[i.evidence for i in items], key=self.key, kid=self.kid,
                              now=self.clock())
        write_atomic(scope.manifest, data, 0o600)
        return items

    def _receipt(self, scope: Scope, agency_id: str, got: bytes | str,
                 sent: list[ReceivedFile], now: float) -> None:
        """Check the agency's receipt and keep it beside the manifest; audited either way
        (the evidence counts as delivered with or without one)."""
        detail: dict[str, object]
        if isinstance(got, str):
            detail = {"ok": False, "problem": got}
        else:
            digest = hashlib.sha256(got).hexdigest()
            try:
                directory = self.agencies() if self.agencies is not None else None
                agency = directory.agency(agency_id) if directory is not None else None
                verify_receipt(got, agency, scope.request_id, sent, now)
            except RequestRejected as exc:
                detail = {"ok": False, "sha256": digest,
                          "problem": f"{exc.reason}: {exc.detail}"[:200]}
            else:
                write_atomic(scope.receipt, got, 0o600)
                detail = {"ok": True, "sha256": digest, "files": len(sent)}
        self.audit.append(AuditKind.RECEIPT, scope.request_id, detail, at=now)
        if not detail["ok"]:
            log.warning("request %s: the agency's receipt is missing or bad: %s",
                        scope.request_id, detail["problem"])

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
            Scope(self.db_path.parent / "manifests", d.request_id).remove_cuts(
                [c for c, _ in d.clips])
            self._release(c for c, _ in d.clips)
            self.audit.append(AuditKind.FAILED, d.request_id, detail, at=now)
        log.warning("upload for request %s failed for good: %s", d.request_id, message)
        return UploadReport(d.request_id, False, tuple(uploaded), message)

    def _give_up(self, failures: int, failing_for_s: float) -> bool:
        return failing_for_s >= self.give_up_after_s or (
            0 < self.give_up_after_failures <= failures)

    def _release(self, clip_ids: Iterable[str]) -> None:
        for cid in clip_ids:
            if not self.book.clip_still_needed(cid):
                self.catalog.set_held(cid, False)

