"""A small MP4 reader: the H.264 track's samples (access units) in decode order.

Enough for the clips doorcam writes and for received evidence: one video track, `avc1`
samples described by stsz/stsc/stco (or co64), progressive or faststart. Fragmented MP4 is
not read (doorcam's finished clips never are)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}


class Mp4Error(ValueError):
    """Not an MP4 this reader understands; the message is one line."""


@dataclass(frozen=True)
class H264Track:
    length_size: int  # bytes of each NAL unit's length prefix
    sps_pps: tuple[bytes, ...]
    offsets: tuple[int, ...]
    sizes: tuple[int, ...]
    edit_start: int = 0  # media time where the edit list starts presenting (0: none)


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        head = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            head = 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            raise Mp4Error(f"box {kind!r} at {pos} has a bad size {size}")
        yield kind, pos + head, pos + size
        pos += size


def _find(data: bytes, start: int, end: int, kind: bytes) -> list[tuple[int, int]]:
    return [(s, e) for k, s, e in _boxes(data, start, end) if k == kind]


def read_moov(path: Path) -> bytes:
    """The moov box, read without loading the (large) media data."""
    with open(path, "rb") as f:
        while True:
            head = f.read(8)
            if len(head) < 8:
                raise Mp4Error(f"{path.name}: no moov box (not an MP4, or unfinished)")
            size, kind = struct.unpack(">I4s", head)
            skip = size - 8
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0]
                skip = size - 16
            elif size == 0:
                raise Mp4Error(f"{path.name}: no moov box before the end")
            if size < 8:
                raise Mp4Error(f"{path.name}: box {kind!r} has a bad size")
            if kind == b"moov":
                return head + f.read(skip)
            f.seek(skip, 1)


def h264_track(path: Path) -> H264Track:
    moov = read_moov(path)
    for ts, te in _find(moov, 8, len(moov), b"trak"):
        stbl = _path(moov, ts, te, (b"mdia", b"minf", b"stbl"))
        if stbl is None:
            continue
        stsd = _find(moov, *stbl, b"stsd")
        if not stsd:
            continue
        s, e = stsd[0]
        # stsd: version/flags (4), entry count (4), then sample entries.
        entries = list(_boxes(moov, s + 8, e))
        if not entries or entries[0][0] not in (b"avc1", b"avc3"):
            continue
        _, es, ee = entries[0]
        # VisualSampleEntry: 78 bytes before its child boxes.
        avcc = _find(moov, es + 78, ee, b"avcC")
        if not avcc:
            raise Mp4Error(f"{path.name}: H.264 track without avcC")
        length_size, sps_pps = read_avcc(moov[avcc[0][0]:avcc[0][1]])
        offsets, sizes = _samples(moov, stbl)
        return H264Track(length_size, sps_pps, offsets, sizes, _edit_start(moov, ts, te))
    raise Mp4Error(f"{path.name}: no H.264 video track")


def _edit_start(moov: bytes, ts: int, te: int) -> int:
    """The media time at which the track's edit list starts (its first non-empty edit)."""
    elst = _path(moov, ts, te, (b"edts", b"elst"))
    if elst is None:
        return 0
    body = moov[elst[0]:elst[1]]
    if len(body) < 8:
        raise Mp4Error("elst box cut short")
    version, count = body[0], struct.unpack(">I", body[4:8])[0]
    entry, fmt = (20, ">Qq") if version == 1 else (12, ">Ii")
    for i in range(min(count, (len(body) - 8) // entry)):
        _, media_time = struct.unpack(fmt, body[8 + i * entry:8 + i * entry + entry - 4])
        if media_time >= 0:  # -1: an empty edit (a pause before the media)
            return int(media_time)
    return 0


def _path(data: bytes, start: int, end: int, kinds: tuple[bytes, ...]) -> tuple[int, int] | None:
    for kind in kinds:
        found = _find(data, start, end, kind)
        if not found:
            return None
        start, end = found[0]
    return start, end


def is_avcc(extradata: bytes) -> bool:
    """An avcC record (ISO 14496-15), as MP4 keeps H.264's parameter sets, rather than
    Annex B parameter sets or nothing."""
    return len(extradata) >= 7 and extradata[0] == 1


def read_avcc(rec: bytes) -> tuple[int, tuple[bytes, ...]]:
    """(NAL length prefix size, the SPS and PPS units) of an avcC record."""
    if not is_avcc(rec):
        raise Mp4Error("avcC record is not version 1")
    length_size = (rec[4] & 3) + 1
    units: list[bytes] = []
    pos = 5
    for mask in (0x1F, 0xFF):  # the SPS count shares its byte with reserved bits; PPS not
        count = rec[pos] & mask
        pos += 1
        for _ in range(count):
            n = int.from_bytes(rec[pos:pos + 2], "big")
            units.append(rec[pos + 2:pos + 2 + n])
            pos += 2 + n
    return length_size, tuple(units)


def _samples(moov: bytes, stbl: tuple[int, int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    def full(kind: bytes) -> bytes | None:
        found = _find(moov, *stbl, kind)
        return moov[found[0][0] + 4:found[0][1]] if found else None  # skip version/flags

    stsz = full(b"stsz")
    stsc = full(b"stsc")
    stco, co64 = full(b"stco"), full(b"co64")
    if stsz is None or stsc is None or (stco is None and co64 is None):
        raise Mp4Error("sample tables incomplete (stsz/stsc/stco)")
    fixed, count = struct.unpack(">II", stsz[:8])
    sizes = [fixed] * count if fixed else list(struct.unpack(f">{count}I", stsz[8:8 + 4 * count]))
    if co64 is not None:
        n = struct.unpack(">I", co64[:4])[0]
        chunks = list(struct.unpack(f">{n}Q", co64[4:4 + 8 * n]))
    else:
        assert stco is not None
        n = struct.unpack(">I", stco[:4])[0]
        chunks = list(struct.unpack(f">{n}I", stco[4:4 + 4 * n]))
    runs_n = struct.unpack(">I", stsc[:4])[0]
    runs = [struct.unpack(">III", stsc[4 + 12 * i:16 + 12 * i]) for i in range(runs_n)]
    offsets: list[int] = []
    sample = 0
    for i, (first, per_chunk, _) in enumerate(runs):
        last = runs[i + 1][0] - 1 if i + 1 < len(runs) else len(chunks)
        for chunk in range(first, last + 1):
            pos = chunks[chunk - 1]
            for _ in range(per_chunk):
                if sample >= count:
                    break
                offsets.append(pos)
                pos += sizes[sample]
                sample += 1
    if len(offsets) != count:
        raise Mp4Error(f"sample tables describe {len(offsets)} of {count} samples")
    return tuple(offsets), tuple(sizes)


def read_samples(path: Path) -> tuple[H264Track, list[bytes]]:
    """The H.264 track and its samples' bytes, in decode order."""
    track = h264_track(path)
    out: list[bytes] = []
    with open(path, "rb") as f:
        for off, size in zip(track.offsets, track.sizes, strict=True):
            f.seek(off)
            data = f.read(size)
            if len(data) != size:
                raise Mp4Error(f"{path.name}: sample at {off} is cut short")
            out.append(data)
    return track, out
