"""Content Credentials (C2PA) on a shared clip: written by the device before the evidence
manifest hashes the file, read by whoever receives it. The only module that imports
`c2pa` (c2pa-python, the Content Authenticity Initiative's library); where it cannot be
installed, `available()` is False and shared clips go without them."""

from __future__ import annotations

import enum
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uplink.protocol.evidence import ClockStatement
from uplink.protocol.fields import format_time

ASSERTION = "org.doorcam.evidence"
MIME = "video/mp4"
CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"


class CredentialsError(Exception):
    """The clip could not be given Content Credentials; the message is one line."""


class CredentialsState(enum.StrEnum):
    """What a C2PA reader makes of a file, in its own words (`validation_state`)."""

    TRUSTED = "Trusted"  # valid, and the signer chains to a root in the reader's trust list
    VALID = "Valid"  # valid; the signer's root is not in a trust list (a device's own CA)
    INVALID = "Invalid"
    ABSENT = "absent"  # no Content Credentials in the file
    UNCHECKED = "unchecked"  # present, but no C2PA library here to read them


@dataclass(frozen=True)
class CutFacts:
    """The stored clip a shared clip was cut from, and where in it the cut lies."""

    from_sha256: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class ShareFacts:
    """What the device states about a clip it shares."""

    device_id: str
    clip_id: str
    start: float  # Unix time of the first frame
    end: float
    clock: ClockStatement | None
    request_id: str
    case_number: str
    agency_id: str
    video_signed: bool  # the frames carry ONVIF Media Signing, checked before sharing
    video_gops: int
    cut: CutFacts | None = None

    def assertion(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "clip_id": self.clip_id,
            "captured": {"start": format_time(int(self.start)), "end": format_time(
                int(self.end + 0.999)), "start_unix": self.start, "end_unix": self.end},
            "clock": None if self.clock is None else self.clock.to_json(),
            "request": {"request_id": self.request_id, "case_number": self.case_number,
                        "agency_id": self.agency_id},
            "video_signing": {"standard": "ONVIF Media Signing", "signed": self.video_signed,
                              "gops_checked_valid": self.video_gops},
            "cut": None if self.cut is None else {
                "from_sha256": self.cut.from_sha256, "start_s": self.cut.start_s,
                "end_s": self.cut.end_s},
        }


@dataclass(frozen=True)
class CredentialsReport:
    state: CredentialsState
    failures: tuple[str, ...] = ()  # the reader's failure codes (signingCredential.untrusted…)
    facts: dict[str, Any] | None = None  # the device's assertion
    issuer: str = ""  # who issued the signing certificate (the device's own CA)
    problem: str = ""  # why it could not be read at all
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.state in (CredentialsState.VALID, CredentialsState.TRUSTED)

    def line(self) -> str:
        if self.state is CredentialsState.TRUSTED:
            return f"content credentials: valid, signer trusted ({self.issuer})"
        if self.state is CredentialsState.VALID:
            return (f"content credentials: valid, signed by {self.issuer or 'the device'} "
                    "(its own CA, not in a trust list)")
        if self.state is CredentialsState.ABSENT:
            return "content credentials: none"
        if self.state is CredentialsState.UNCHECKED:
            return f"content credentials: not checked ({self.problem})"
        why = ", ".join(f for f in self.failures if f != UNTRUSTED) or self.problem
        return f"content credentials: INVALID ({why})"


UNTRUSTED = "signingCredential.untrusted"


def available() -> bool:
    try:
        import c2pa  # noqa: F401
    except ImportError:
        return False
    return True


def add_credentials(source: Path, dest: Path, facts: ShareFacts, *, key_pem: bytes,
                    chain_pem: bytes, generator_version: str) -> None:
    """Write `source` with a signed C2PA manifest to `dest` (durably; nothing left on
    failure). Signed with ES256 by the key whose certificate chain is `chain_pem`."""
    try:
        import c2pa
    except ImportError as e:
        raise CredentialsError("the C2PA library (c2pa-python) is not installed") from e
    manifest = {
        "claim_generator_info": [{"name": "doorcam", "version": generator_version}],
        "title": f"{facts.clip_id}.mp4",
        "format": MIME,
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [
                {"action": "c2pa.created", "digitalSourceType": CAPTURE,
                 "when": format_time(int(facts.start))}]}},
            {"label": ASSERTION, "data": facts.assertion()},
        ],
    }
    tmp = dest.with_name(dest.name + ".c2pa-tmp")
    try:
        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain_pem, key_pem, None)
        with c2pa.Signer.from_info(info) as signer, \
                c2pa.Builder(json.dumps(manifest)) as builder, \
                open(source, "rb") as src, open(tmp, "wb") as out:
            builder.sign(signer, MIME, src, out)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(dest)
    except (c2pa.C2paError, OSError, ValueError) as e:
        tmp.unlink(missing_ok=True)
        raise CredentialsError(f"cannot add Content Credentials to {facts.clip_id}: "
                               f"{_one_line(e)}") from None


def read_credentials(path: Path, *, data: bytes | None = None) -> CredentialsReport:
    """What the C2PA library reads in the file (or in `data`). Never raises on bad input."""
    try:
        import c2pa
    except ImportError:
        return CredentialsReport(CredentialsState.UNCHECKED,
                                 problem="the C2PA library (c2pa-python) is not installed")
    try:
        if data is None:
            with open(path, "rb") as f:
                reader = c2pa.Reader(MIME, f)
        else:
            reader = c2pa.Reader(MIME, io.BytesIO(data))
    except OSError as e:
        return CredentialsReport(CredentialsState.INVALID, problem=f"cannot read: {e.strerror}")
    except c2pa.C2paError.ManifestNotFound:
        return CredentialsReport(CredentialsState.ABSENT)
    except c2pa.C2paError as e:
        return CredentialsReport(CredentialsState.INVALID, problem=_one_line(e))
    with reader:
        try:
            state = CredentialsState(reader.get_validation_state() or "Invalid")
        except ValueError:
            state = CredentialsState.INVALID
        results = reader.get_validation_results() or {}
        active = results.get("activeManifest") or {}
        failures = tuple(str(f.get("code", "")) for f in active.get("failure", []))
        manifest = reader.get_active_manifest() or {}
    facts = next((a.get("data") for a in manifest.get("assertions", [])
                  if a.get("label") == ASSERTION), None)
    info = manifest.get("signature_info") or {}
    issuer = str(info.get("common_name") or info.get("issuer") or "")
    if state is CredentialsState.VALID and set(failures) - {UNTRUSTED}:
        state = CredentialsState.INVALID
    return CredentialsReport(state, failures, facts if isinstance(facts, dict) else None,
                             issuer)


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else type(e).__name__
