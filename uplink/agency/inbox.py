"""Where an agency's receiver files evidence: DIR/<request_id>/<clip_id>.mp4 + manifest.json,
verified as each upload completes. Names come from validated ids, never from the wire."""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
from pathlib import Path

from common import CLIP_ID_PATTERN, write_atomic
from uplink.agency.receiver import Upload
from uplink.agency.verify import EvidenceReport, verify_evidence
from uplink.protocol.evidence import MANIFEST_NAME

log = logging.getLogger("doorcam.agency")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class EvidenceInbox:
    """Files completed uploads by request and verifies each request's manifest."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def on_complete(self, upload: Upload) -> None:
        request_id = upload.metadata.get("request_id", "")
        clip_id = upload.metadata.get("clip_id", "")
        if not _UUID.fullmatch(request_id) or not (
                clip_id == "manifest" or CLIP_ID_PATTERN.fullmatch(clip_id)):
            log.warning("upload with unusable request/clip id kept as %s", upload.path.name)
            return
        name = MANIFEST_NAME if clip_id == "manifest" else f"{clip_id}.mp4"
        with self._lock:
            folder = self.directory / request_id
            folder.mkdir(exist_ok=True)
            shutil.copyfile(upload.path, folder / name)
            if (folder / MANIFEST_NAME).exists():
                self.verify(folder)

    def verify(self, folder: Path) -> EvidenceReport:
        """Check the folder's manifest against its clips; writes VERIFIED.json or PROBLEMS.json."""
        folder = Path(folder)
        try:
            manifest = (folder / MANIFEST_NAME).read_bytes()
        except OSError as exc:
            report = EvidenceReport(False, folder.name, (f"manifest: {exc.strerror}",), ())
        else:
            clips = {p.stem: p for p in folder.glob("*.mp4")}
            report = verify_evidence(manifest, clips)
        good, bad = folder / "VERIFIED.json", folder / "PROBLEMS.json"
        (bad if report.ok else good).unlink(missing_ok=True)
        target = good if report.ok else bad
        # Whole or not at all: whoever waits for the file reads it as soon as it is there.
        write_atomic(target, (json.dumps({"request_id": report.request_id, "ok": report.ok,
                                          "verified_clips": list(report.verified_clips),
                                          "problems": list(report.problems)}, indent=2)
                              + "\n").encode("utf-8"))
        if report.ok:
            log.info("evidence for request %s: %d clip(s) verified, manifest signature ok",
                     report.request_id, len(report.verified_clips))
        else:
            log.warning("evidence for request %s incomplete: %s", folder.name,
                        "; ".join(report.problems))
        return report
