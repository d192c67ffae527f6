"""Cutting an MP4 to a time span at group-of-pictures boundaries, by remuxing (no re-encode).

The cut starts at the last keyframe at or before the span's start (a decoder needs it) and
ends after the last frame, in decode order, whose presentation time is at or before the
span's end. With B-frames a few frames just before the end may be left out rather than
letting one after it through: nothing past the end leaves, at the cost of a frame or two.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from capture.media.mp4opts import mp4_options

_AV_ERRORS = (av.error.FFmpegError, OSError, ValueError)


class CutError(Exception):
    """The clip cannot be cut (unreadable, or no frame inside the span); one line."""


@dataclass(frozen=True)
class _Pkt:
    pts: int
    dts: int
    duration: int
    keyframe: bool


@dataclass(frozen=True)
class CutSpan:
    """Seconds from the clip's first frame: where the cut starts and where it ends."""

    start_s: float
    end_s: float


def cut_clip(source: Path, dest: Path, start_s: float, end_s: float) -> CutSpan | None:
    """Write the part of `source` covering [start_s, end_s] (seconds from its first frame)
    to `dest`, durably; None (nothing written) when every frame already lies inside."""
    packets, time_base = _index(source)
    first = min(p.pts for p in packets)
    ticks = [(p.pts - first) * time_base for p in packets]
    keys = [i for i, p in enumerate(packets) if p.keyframe]
    if not keys:
        raise CutError(f"{source.name}: no keyframe")
    begin = max((i for i in keys if ticks[i] <= start_s), default=keys[0])
    stop = begin
    while stop < len(packets) and ticks[stop] <= end_s:
        stop += 1
    if stop == begin:
        raise CutError(f"{source.name}: no frame lies inside the requested window")
    if begin == 0 and stop == len(packets) and all(
            ticks[i] >= 0 for i in range(len(packets))):
        return None
    origin = packets[begin].pts
    last = max(packets[i].pts + packets[i].duration for i in range(begin, stop))
    _write(source, dest, begin, stop, origin, packets)
    return CutSpan(float((origin - first) * time_base), float((last - first) * time_base))


def _index(source: Path) -> tuple[list[_Pkt], Fraction]:
    try:
        with av.open(str(source)) as inp:
            stream = inp.streams.video[0]
            time_base = Fraction(stream.time_base or Fraction(1, 90000))
            out = []
            for p in inp.demux(stream):
                if p.size == 0 or p.pts is None:
                    continue  # the demuxer's flush packet
                out.append(_Pkt(p.pts, p.pts if p.dts is None else p.dts,
                                int(p.duration or 0), bool(p.is_keyframe)))
    except (*_AV_ERRORS, IndexError) as e:
        raise CutError(f"{source.name}: cannot read the video: {_reason(e)}") from e
    if not out:
        raise CutError(f"{source.name}: no video frames")
    return _with_durations(out), time_base


def _with_durations(packets: list[_Pkt]) -> list[_Pkt]:
    """Every packet needs a duration when remuxed: fill gaps from the next frame's time."""
    order = sorted(p.pts for p in packets)
    steps = [b - a for a, b in itertools.pairwise(order) if b > a]
    default = min(steps) if steps else 1
    following = {a: b - a for a, b in itertools.pairwise(order) if b > a}
    return [p if p.duration > 0 else _Pkt(p.pts, p.dts, following.get(p.pts, default),
                                          p.keyframe) for p in packets]


def _write(source: Path, dest: Path, begin: int, stop: int, origin: int,
           packets: list[_Pkt]) -> None:
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        opts = mp4_options(movflags="+faststart")
        with av.open(str(source)) as inp, av.open(str(tmp), "w", format="mp4",
                                                   options=opts) as out:
            src = inp.streams.video[0]
            time_base = src.time_base
            dst = out.add_stream_from_template(src, opaque=True)
            with contextlib.suppress(RuntimeError):  # PyAV 14 refuses it on a decoder context
                dst.time_base = time_base
            index = 0
            for p in inp.demux(src):
                if p.size == 0 or p.pts is None:
                    continue
                if begin <= index < stop:
                    meta = packets[index]
                    p.pts, p.dts = meta.pts - origin, meta.dts - origin
                    p.duration = meta.duration
                    p.time_base = time_base or Fraction(1, 90000)
                    p.stream = dst
                    out.mux(p)
                index += 1
                if index >= stop:
                    break
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
        dirfd = os.open(dest.parent, os.O_RDONLY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
    except _AV_ERRORS as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise CutError(f"{source.name}: cannot write the cut: {_reason(e)}") from e


def _reason(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return " ".join(str(text).split()) or type(e).__name__
