"""Checking ONVIF Media Signing in an MP4 offline: which GOPs are intact, which were
altered, removed or reordered. Never raises on bad input: findings go in the report."""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from common.mediasign.chain import MAX_HASH_LIST, SliceHasher, sha256
from common.mediasign.mp4 import Mp4Error, read_samples
from common.mediasign.nal import iter_units, starts_gop
from common.mediasign.sei import (
    SHA256_OID,
    GopRecord,
    ParsedSei,
    SeiError,
    is_media_signing_sei,
    parse_sei,
    unix_from_timestamp,
)

# The one problem of a readable video recorded without signatures (not a sign of tampering).
NOT_SIGNED = "the video carries no ONVIF Media Signing SEI"


@dataclass(frozen=True)
class GopFinding:
    position: int  # 1-based position of the GOP in the file
    first_frame: int  # 0-based index of its first frame in the file
    frames: int
    counter: int | None  # the signer's GOP number, when a signature matches it
    status: str  # valid | altered | unsigned | tail
    detail: str = ""


@dataclass(frozen=True)
class MediaReport:
    signed: bool
    ok: bool
    gops: tuple[GopFinding, ...]
    problems: tuple[str, ...]
    notes: tuple[str, ...]
    key_bound: bool  # the signing certificate was issued by the expected device key
    vendor: str = ""

    def lines(self) -> list[str]:
        out = [f"GOP {g.position} (frames {g.first_frame}-{g.first_frame + g.frames - 1}"
               + (f", signed GOP #{g.counter}" if g.counter is not None else "")
               + f"): {g.status}" + (f": {g.detail}" if g.detail else "") for g in self.gops]
        out += [f"problem: {p}" for p in self.problems]
        out += [f"note: {n}" for n in self.notes]
        return out


@dataclass
class _Gop:
    first_frame: int
    first_slice: int  # position of its first slice among all slices of the file
    hashes: list[bytes] = field(default_factory=list)
    frame_of: list[int] = field(default_factory=list)  # each hash's frame within the GOP
    frames: int = 0

    @property
    def end_slice(self) -> int:
        return self.first_slice + len(self.hashes)


@dataclass
class _Sei:
    at: int  # how many slices of the file come before it
    parsed: ParsedSei
    record: GopRecord


def verify_media(path: Path, device_key: Ed25519PublicKey | None = None, *,
                 strict: bool = False) -> MediaReport:
    """Check every signed GOP of the MP4 at `path`. With `device_key` (a manifest's), the
    signing certificate must have been issued by it. `strict` also refuses what ONVIF's
    reference validator refuses though the frames are intact (`reference_problems`)."""
    try:
        track, samples = read_samples(Path(path))
    except (Mp4Error, OSError) as e:
        return MediaReport(False, False, (), (f"cannot read the video: {e}",), (), False)
    gops: list[_Gop] = []
    seis: list[_Sei] = []
    problems: list[str] = []
    hasher = SliceHasher()
    leading = _Gop(0, 0)
    slices = 0
    sei_before_first_gop = False
    try:
        for index, sample in enumerate(samples):
            frame_counted = False
            for nal in iter_units(sample, track.length_size):
                if is_media_signing_sei(nal):
                    try:
                        parsed = parse_sei(nal)
                    except (SeiError, IndexError, ValueError) as e:
                        problems.append(f"frame {index}: unreadable signature SEI: {e}")
                        continue
                    if parsed.record is not None:
                        seis.append(_Sei(slices, parsed, parsed.record))
                        sei_before_first_gop |= index == 0 and not gops
                    continue
                if starts_gop(nal):
                    hasher.new_gop()
                    gops.append(_Gop(index, slices))
                hashed = hasher.hash(nal)
                if hashed is None:
                    continue
                slices += 1
                gop = gops[-1] if gops else leading
                gop.hashes.append(hashed[0])
                gop.frame_of.append(gop.frames - 1 if frame_counted else gop.frames)
                if not frame_counted:
                    gop.frames += 1
                    frame_counted = True
    except ValueError as e:
        return MediaReport(False, False, (), (f"cannot read the video: {e}",), (), False)
    if not seis:
        return MediaReport(False, False, (), (NOT_SIGNED,), (), False)
    notes: list[str] = []
    if leading.frames:
        problems.append(f"{leading.frames} frames before the first keyframe cannot be checked")
    key_bound, leaf_key, vendor = _check_certificates(seis[0].parsed, device_key, problems, notes)
    good = [s for s in seis if _signature_ok(s, leaf_key, problems)]
    if strict:
        problems += reference_problems(track.edit_start, sei_before_first_gop and bool(gops),
                                       [s.record for s in seis])
    return _match(gops, good, problems, notes, key_bound, vendor, strict)


def reference_problems(edit_start: int, sei_before_first_gop: bool,
                       records: list[GopRecord]) -> list[str]:
    """What ONVIF's reference validator (r25.12.3, GStreamer's MP4 demuxer in front) refuses
    in a file whose frames are intact; see docs/media-signing.md."""
    out = []
    if edit_start > 0:
        out.append("the MP4 edit list starts after the first frame: the reference validator's "
                   "demuxer then drops the first access unit and the first GOP fails")
    if sei_before_first_gop:
        out.append("the first access unit carries a signature in front of its keyframe: the "
                   "reference validator then fails the first GOP")
    out += [f"GOP #{r.gop_counter} lists {len(r.hash_list)} hashes, more than the "
            f"{MAX_HASH_LIST} the reference validator holds" for r in records
            if len(r.hash_list) > MAX_HASH_LIST]
    out += [f"GOP #{r.gop_counter} is an empty signature after a partial one: the reference "
            "validator fails the GOP after it" for prev, r in itertools.pairwise(records)
            if prev.triggered_partial and r.num_nalus == 0]
    return out


def _check_certificates(first: ParsedSei, device_key: Ed25519PublicKey | None,
                        problems: list[str], notes: list[str],
                        ) -> tuple[bool, ec.EllipticCurvePublicKey | None, str]:
    vendor = ""
    if first.vendor is not None:
        vendor = " ".join(x for x in (first.vendor.manufacturer, first.vendor.serial_number,
                                      first.vendor.firmware_version) if x)
    if first.hash_oid and first.hash_oid != SHA256_OID:
        problems.append("the signatures use a hash other than SHA-256 (not supported)")
        return False, None, vendor
    try:
        leaf = x509.load_pem_x509_certificates(first.certificates)[0]
    except (ValueError, IndexError):
        problems.append("the signature SEI carries no readable signing certificate")
        return False, None, vendor
    key = leaf.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        problems.append("the signing certificate's key is not ECDSA (not supported here)")
        return False, None, vendor
    if device_key is None:
        notes.append("no device key given: the signatures are checked, not who made them")
        return False, key, vendor
    try:
        device_key.verify(leaf.signature, leaf.tbs_certificate_bytes)
    except InvalidSignature:
        problems.append("the signing certificate was not issued by the manifest's device key")
        return False, key, vendor
    return True, key, vendor


def _signature_ok(s: _Sei, key: ec.EllipticCurvePublicKey | None, problems: list[str]) -> bool:
    if key is None:
        return False
    try:
        key.verify(s.parsed.signature, sha256(s.parsed.signed_part),
                   ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature:
        problems.append(f"the signature of GOP #{s.record.gop_counter} does not verify")
        return False
    r = s.record
    if r.hash_list and sha256(b"".join(r.hash_list)) != r.gop_hash:
        problems.append(f"GOP #{r.gop_counter}: its hash list does not give its GOP hash")
        return False
    return True


def _segments(g: _Gop, by_first: dict[bytes, list[_Sei]], listless: list[_Sei],
              ) -> tuple[list[_Sei], int]:
    """The signatures covering the GOP from its start, in order (a GOP sealed where a clip
    ended is signed in parts), and how many of its slices they cover."""
    found: list[_Sei] = []
    k = 0
    while k < len(g.hashes):
        fits = [s for s in by_first.get(g.hashes[k], ())
                if tuple(g.hashes[k:k + len(s.record.hash_list)]) == s.record.hash_list]
        fits += [s for s in listless if _gop_hash_fits(g.hashes[k:k + s.record.num_nalus],
                                                      s.record)]
        if not fits:
            break
        # Prefer the part that follows the previous one (identical pictures repeat hashes).
        want = found[-1].record.gop_counter + 1 if found else None
        s = next((s for s in fits if s.record.gop_counter == want), fits[0])
        found.append(s)
        k += _length(s.record)
    return found, k


def _length(r: GopRecord) -> int:
    """How many slices a record signs (a long GOP is signed by its GOP hash, without list)."""
    return len(r.hash_list) or r.num_nalus


def _gop_hash_fits(part: list[bytes], r: GopRecord) -> bool:
    return len(part) == r.num_nalus and sha256(b"".join(part)) == r.gop_hash


def _match(gops: list[_Gop], seis: list[_Sei], problems: list[str], notes: list[str],
           key_bound: bool, vendor: str, strict: bool = False) -> MediaReport:
    by_first: dict[bytes, list[_Sei]] = {}
    for s in seis:
        if s.record.hash_list:
            by_first.setdefault(s.record.hash_list[0], []).append(s)
    listless = [s for s in seis if not s.record.hash_list and s.record.num_nalus > 0]
    empty = {s.record.gop_counter for s in seis if _length(s.record) == 0}
    last_sei = max(s.at for s in seis)
    findings: list[GopFinding] = []
    first_entry: dict[int, bytes] = {}  # the first slice hash each matched signature signs
    used: set[int] = set()
    order: list[int] = []
    for i, g in enumerate(gops):
        parts, covered = _segments(g, by_first, listless)
        used.update(id(s) for s in parts)
        order.extend(s.record.gop_counter for s in parts)
        k = 0
        for s in parts:
            first_entry[id(s)] = g.hashes[k]
            k += _length(s.record)
        counter = parts[0].record.gop_counter if parts else None
        split = f"signed in {len(parts)} parts" if len(parts) > 1 else ""
        if covered == len(g.hashes):
            findings.append(GopFinding(i + 1, g.first_frame, g.frames, counter, "valid", split))
            continue
        if last_sei < g.end_slice:
            # No signature comes after this GOP's last slice: the file ends before the one
            # that would sign the rest.
            rest = g.frames - (g.frame_of[covered] if covered else 0)
            findings.append(GopFinding(i + 1, g.first_frame, g.frames, counter, "tail",
                                       f"its last {rest} frames come after the last "
                                       "signature in this file"))
            notes.append(f"the last {rest} frames are not covered by a signature in this file")
            continue
        best = _closest(g, [s for s in seis if id(s) not in used])
        if best is not None:
            used.add(id(best))
            order.append(best.record.gop_counter)
            findings.append(GopFinding(i + 1, g.first_frame, g.frames, best.record.gop_counter,
                                       "altered", _diff(g, best.record)))
            problems.append(f"GOP {i + 1} (signed GOP #{best.record.gop_counter}) was altered: "
                            + _diff(g, best.record))
        else:
            findings.append(GopFinding(i + 1, g.first_frame, g.frames, None, "unsigned",
                                       "no signature in the file matches it"))
            problems.append(f"GOP {i + 1} (frames from {g.first_frame}) matches no signature: "
                            "its signature was removed, or the frames are not the signed ones")
    first_end = gops[0].end_slice if gops else 0
    for s in seis:
        if id(s) in used or _length(s.record) == 0:
            continue
        c = s.record.gop_counter
        if s.at < first_end:
            notes.append(f"the first signature is for GOP #{c}, recorded before the clip starts")
        else:
            problems.append(f"GOP #{c} ({_when(s.record)}) is missing: its signature is here, "
                            "its frames are not")
    for prev, cur in itertools.pairwise(order):
        if cur <= prev:
            problems.append(f"GOP #{cur} comes after GOP #{prev}: GOPs were reordered")
            continue
        gone = [c for c in range(prev + 1, cur) if c not in empty]
        if gone:
            gap = f"#{gone[0]}" if len(gone) == 1 else f"#{gone[0]}-#{gone[-1]}"
            problems.append(f"GOP {gap} missing between GOP #{prev} and GOP #{cur}")
    if strict:
        problems += _unlinked([s for s in seis if id(s) in first_entry], first_entry)
    problems = list(dict.fromkeys(problems))
    ok = not problems and any(f.status == "valid" for f in findings)
    return MediaReport(True, ok, tuple(findings), tuple(problems), tuple(notes), key_bound,
                       vendor)


def _unlinked(matched: list[_Sei], first_entry: dict[int, bytes]) -> list[str]:
    """Each signed part must link to the first slice of the part before it (the reference
    validator checks the linked hash between consecutive parts)."""
    by_counter = {s.record.gop_counter: s for s in matched}
    out = []
    for c, s in sorted(by_counter.items()):
        prev = by_counter.get(c - 1)
        if prev is not None and s.record.linked_hash != first_entry[id(prev)]:
            out.append(f"GOP #{c} is not linked to GOP #{c - 1} (linked hash): the reference "
                       "validator fails it")
    return out


def _closest(g: _Gop, seis: list[_Sei]) -> _Sei | None:
    mine = set(g.hashes)
    best, score = None, 0
    for s in seis:
        n = len(mine & set(s.record.hash_list))
        if n > score:
            best, score = s, n
    return best


def _diff(g: _Gop, r: GopRecord) -> str:
    signed = set(r.hash_list)
    differing = [i for i, h in enumerate(g.hashes) if h not in signed]
    changed = sorted({g.frame_of[i] for i in differing})
    missing = max(0, len(signed - set(g.hashes)) - len(differing))
    parts = []
    if changed:
        parts.append("frame(s) " + ", ".join(str(i) for i in changed[:8]) + " differ")
    if missing:
        parts.append(f"{missing} signed slice(s) missing")
    return "; ".join(parts) or "slices reordered"


def _when(r: GopRecord) -> str:
    start = datetime.datetime.fromtimestamp(unix_from_timestamp(r.start_ts), datetime.UTC)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ")
