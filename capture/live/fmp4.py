"""Fragmented MP4 (CMAF-style) for the live view, written box by box from H.264 packets.

No re-encoding and no muxer state: an initialisation segment (ftyp + moov with the stream's
avcC) and then self-contained fragments (moof + mdat), each carrying its own decode time, so
a player may start at any fragment that begins with a keyframe. The boxes are those of ISO
14496-12 and 14496-15; every fragment is written the moment its last packet arrives.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from common.mediasign.mp4 import is_avcc, read_avcc
from common.mediasign.nal import join_length_prefixed, split_annex_b, split_length_prefixed

TIMESCALE = 90000
SPS, PPS, AUD = 7, 8, 9
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
# sample_flags (ISO 14496-12 8.8.3.1): a sync sample depends on nothing; others depend on
# earlier samples and are not sync samples.
_SYNC, _NON_SYNC = 0x02000000, 0x01010000


class StreamFormatError(ValueError):
    """The packets cannot be described as an H.264 track (no SPS/PPS); one line."""


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


@dataclass(frozen=True)
class ParameterSets:
    sps: bytes
    pps: bytes

    @property
    def codec(self) -> str:
        """The RFC 6381 codec string browsers ask about (`avc1.PPCCLL`)."""
        return "avc1." + self.sps[1:4].hex().upper()


@dataclass(frozen=True)
class Sample:
    data: bytes  # NAL units, each after a 4-byte length
    dts: int  # ticks of TIMESCALE
    cts: int  # composition offset (pts - dts), ticks
    duration: int  # ticks
    keyframe: bool


class AccessUnits:
    """Turns the source's packets (Annex B, or length-prefixed as its avcC says) into MP4
    samples, taking the parameter sets out: they go into the initialisation segment."""

    def __init__(self, extradata: bytes) -> None:
        self._length_size = 0  # 0: Annex B
        self.params: ParameterSets | None = None
        if is_avcc(extradata):
            self._length_size, units = read_avcc(extradata)
            self.params = _parameter_sets(units)
        elif extradata:
            self.params = _parameter_sets(split_annex_b(extradata))

    def units(self, data: bytes) -> list[bytes]:
        if self._length_size:
            return split_length_prefixed(data, self._length_size)
        return split_annex_b(data)

    def sample(self, data: bytes) -> tuple[bytes, ParameterSets | None]:
        """(the sample's NAL units, length-prefixed; parameter sets it carried, if any)."""
        units = self.units(data)
        found = _parameter_sets(units) if any(u and u[0] & 0x1F == SPS for u in units) else None
        media = [u for u in units if u and u[0] & 0x1F not in (SPS, PPS, AUD)]
        return join_length_prefixed(media), found


def _parameter_sets(units: Iterable[bytes]) -> ParameterSets | None:
    sps = pps = None
    for u in units:
        kind = u[0] & 0x1F if u else 0
        if kind == SPS and sps is None:
            sps = u
        elif kind == PPS and pps is None:
            pps = u
    if sps is None or pps is None or len(sps) < 4:
        return None
    return ParameterSets(sps, pps)


def init_segment(params: ParameterSets, width: int, height: int) -> bytes:
    """ftyp + moov of a one-track H.264 stream with no samples (they come in fragments)."""
    ftyp = box(b"ftyp", b"iso6", struct.pack(">I", 0), b"iso6", b"cmfc", b"isom", b"avc1",
               b"mp41")
    mvhd = full_box(b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, 1000, 0),
                    struct.pack(">IH10x", 0x10000, 0x100), _MATRIX, bytes(24),
                    struct.pack(">I", 2))
    tkhd = full_box(b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, 1, 0, 0), bytes(8),
                    struct.pack(">hhhH", 0, 0, 0, 0), _MATRIX,
                    struct.pack(">II", width << 16, height << 16))
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIII", 0, 0, TIMESCALE, 0),
                    struct.pack(">HH", 0x55C4, 0))  # language "und"
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I", 0), b"vide", bytes(12), b"doorcam\0")
    vmhd = full_box(b"vmhd", 0, 1, bytes(8))
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1),
                                 full_box(b"url ", 0, 1)))
    avcc = box(b"avcC", bytes([1, params.sps[1], params.sps[2], params.sps[3], 0xFF, 0xE1]),
               struct.pack(">H", len(params.sps)), params.sps, b"\x01",
               struct.pack(">H", len(params.pps)), params.pps)
    avc1 = box(b"avc1", bytes(6), struct.pack(">H", 1), bytes(16),
               struct.pack(">HHIIIH", width, height, 0x480000, 0x480000, 0, 1), bytes(32),
               struct.pack(">Hh", 0x18, -1), avcc)
    stbl = box(b"stbl", full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
               full_box(b"stts", 0, 0, struct.pack(">I", 0)),
               full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
               full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
               full_box(b"stco", 0, 0, struct.pack(">I", 0)))
    trak = box(b"trak", tkhd, box(b"mdia", mdhd, hdlr, box(b"minf", vmhd, dinf, stbl)))
    mvex = box(b"mvex", full_box(b"trex", 0, 0, struct.pack(">IIIII", 1, 1, 0, 0, 0)))
    return ftyp + box(b"moov", mvhd, trak, mvex)


def fragment(sequence: int, samples: list[Sample]) -> bytes:
    """moof + mdat holding `samples` (decode order); the first sample's dts is the fragment's
    base media decode time."""
    if not samples:
        raise ValueError("a fragment needs at least one sample")
    entries = b"".join(struct.pack(">IIIi", s.duration, len(s.data),
                                   _SYNC if s.keyframe else _NON_SYNC, s.cts) for s in samples)
    # trun flags: data offset, then per sample duration, size, flags, composition offset.
    trun_flags = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800

    def moof(data_offset: int) -> bytes:
        trun = full_box(b"trun", 1, trun_flags, struct.pack(">Ii", len(samples), data_offset),
                        entries)
        traf = box(b"traf", full_box(b"tfhd", 0, 0x020000, struct.pack(">I", 1)),
                   full_box(b"tfdt", 1, 0, struct.pack(">Q", samples[0].dts)), trun)
        return box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)), traf)

    size = len(moof(0))
    return moof(size + 8) + box(b"mdat", *(s.data for s in samples))
