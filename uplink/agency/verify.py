"""The agency's check of received evidence: the device's signed manifest, each clip's size
and SHA-256, the video signatures inside each clip (ONVIF Media Signing), which say
which GOP was altered, removed or reordered, and the clip's Content Credentials (C2PA).
Never raises on bad input: problems are listed in the report. The clock each clip was
recorded by is reported too: a clock that was not synchronised makes a warning, not a
failure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from common import sha256_file
from uplink.errors import RequestRejected
from uplink.protocol.canonical import parse_json
from uplink.protocol.credentials import CredentialsReport, CredentialsState, read_credentials
from uplink.protocol.evidence import ClockStatement
from uplink.protocol.fields import parse_time
from uplink.protocol.keys import public_key_from_text, verify_document
from uplink.protocol.media import MediaReport, verify_media


@dataclass(frozen=True)
class EvidenceReport:
    ok: bool
    request_id: str
    problems: tuple[str, ...]
    verified_clips: tuple[str, ...]
    # Each received clip's video signature check, by clip id.
    media: dict[str, MediaReport] = field(default_factory=dict)
    # The device's clock when each clip was recorded, by clip id (None: not stated, as
    # manifests from devices that predate the statement).
    clocks: dict[str, ClockStatement | None] = field(default_factory=dict)
    # Each clip's Content Credentials as the C2PA library reads them, by clip id (for the
    # clips the manifest says carry them).
    credentials: dict[str, CredentialsReport] = field(default_factory=dict)

    def clock_lines(self) -> list[str]:
        """One line per clip on its clock; those that call its times into doubt start with
        "warning:"."""
        return [f"clip {cid}: {clock_line(c)}" if c is None or c.synchronised
                else f"warning: clip {cid}: {clock_line(c)}"
                for cid, c in sorted(self.clocks.items())]


def clock_line(clock: ClockStatement | None) -> str:
    if clock is None:
        return "clock not stated by the device"
    if not clock.synchronised:
        return ("clock not synchronised when recorded: its times may be wrong (the signed "
                "video timestamps come from the same clock)")
    if clock.max_error_ms is None:
        return "clock synchronised when recorded, error bound not known"
    return f"clock synchronised when recorded, error ≤ {clock.max_error_ms} ms"


def verify_evidence(manifest: bytes, clip_files: Mapping[str, Path]) -> EvidenceReport:
    """Check the manifest's signature and every listed clip's size and SHA-256.

    `clip_files` maps clip id to the received file. Never raises on bad input: problems are
    listed in the report.
    """
    problems: list[str] = []
    try:
        doc = parse_json(manifest, max_bytes=1 << 20, max_depth=6)
        if doc.get("type") != "manifest":
            raise RequestRejected("schema", "not a manifest")
        key = public_key_from_text(str(doc.get("device_key", "")))
        body = verify_document(doc, key)
    except (RequestRejected, ValueError) as exc:
        return EvidenceReport(False, "", (f"manifest: {exc}",), ())
    request_id = str(body.get("request_id", ""))
    verified = []
    media: dict[str, MediaReport] = {}
    clocks: dict[str, ClockStatement | None] = {}
    credentials: dict[str, CredentialsReport] = {}
    clips = body.get("clips")
    if not isinstance(clips, list) or not clips:
        problems.append("manifest lists no clips")
        clips = []
    for entry in clips:
        cid = str(entry.get("clip_id", "")) if isinstance(entry, dict) else ""
        if cid:
            try:
                clocks[cid] = (None if entry.get("clock") is None
                               else ClockStatement.from_json(entry["clock"]))
            except ValueError as exc:
                problems.append(f"clip {cid}: bad clock statement in the manifest: {exc}")
        path = clip_files.get(cid)
        if path is None or not Path(path).is_file():
            problems.append(f"clip {cid or '?'}: not received")
            continue
        media[cid] = check = verify_media(Path(path), key)
        if check.signed and not check.ok:
            problems.extend(f"clip {cid}: {p}" for p in check.problems)
        if isinstance(entry, dict) and entry.get("content_credentials") is True:
            credentials[cid] = cred = read_credentials(Path(path))
            if cred.state in (CredentialsState.INVALID, CredentialsState.ABSENT):
                problems.append(f"clip {cid}: {cred.line()}")
        size = Path(path).stat().st_size
        if (cut := _cut_problem(entry)) is not None:
            problems.append(f"clip {cid}: {cut}")
        elif size != entry.get("size"):
            problems.append(f"clip {cid}: size {size} != {entry.get('size')}")
        elif sha256_file(Path(path)) != entry.get("sha256"):
            problems.append(f"clip {cid}: SHA-256 does not match the manifest")
        else:
            verified.append(cid)
    return EvidenceReport(not problems, request_id, tuple(problems), tuple(verified), media,
                          clocks, credentials)


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _cut_problem(entry: dict[str, object]) -> str | None:
    """What is wrong with a clip entry's times, hash and, for a clip cut to the request's
    window, its `original` (the stored clip's hash, size and span, which hold the cut)."""
    try:
        start, end = parse_time(str(entry.get("start"))), parse_time(str(entry.get("end")))
    except ValueError:
        return "bad start or end time in the manifest"
    if not _HEX64.fullmatch(str(entry.get("sha256"))) or end < start:
        return "bad SHA-256 or span in the manifest"
    original = entry.get("original")
    if original is None:
        return None
    if not isinstance(original, dict) or not _HEX64.fullmatch(str(original.get("sha256"))):
        return "the original clip is not named by its SHA-256"
    try:
        o_start, o_end = parse_time(str(original.get("start"))), parse_time(
            str(original.get("end")))
    except ValueError:
        return "bad start or end time of the original clip"
    size = original.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return "bad size of the original clip"
    if not o_start <= start <= end <= o_end:
        return "the cut does not lie inside the original clip"
    return None
