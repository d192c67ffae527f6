"""Fragmented MP4 after the fact: the decodable part of a clip cut short, as a standard MP4.

A clip is written as ftyp, an empty moov, then one moof + mdat pair per fragment. A power
cut leaves a prefix of that: complete fragments followed by at most one torn one. The
top-level boxes say where the last complete fragment ends, so nothing needs decoding to
find it; the packets up to there are then copied (not re-encoded) into a standard MP4.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import cv2
import numpy as np

from capture.media.mp4opts import mp4_options

log = logging.getLogger(__name__)
_AV_ERRORS = (av.error.FFmpegError, OSError, ValueError)
_MAX_BOXES = 1_000_000  # a corrupt file must not keep the walk going for ever
# The most a sample can add to a one-track index: its size (stsz 4), duration (stts 8),
# composition offset (ctts 8), sync flag (stss 4), dependency flags (sdtp 1) and, at
# worst, a chunk of its own (stsc 12, co64 8).
INDEX_BYTES_PER_SAMPLE = 48
# A standard index holds what the fragmented file's empty one does (headers, sample
# description) less the fragment defaults, plus an edit list and padding for the rest.
INDEX_BYTES_EXTRA = 1024


class SalvageError(Exception):
    """Nothing decodable could be taken from the file; one line for the user."""


@dataclass(frozen=True)
class Prefix:
    """The decodable start of an MP4 file."""

    size: int  # bytes up to the end of the last complete fragment (or the whole file)
    total: int  # bytes in the file
    fragments: int  # complete moof + mdat pairs in the prefix
    fragmented: bool  # written as fragments (a finished standard MP4 has none)
    finished: bool  # the writer got to close the file (a standard MP4, or fragments + mfra)


@dataclass(frozen=True)
class Salvaged:
    frames: int
    duration: float  # seconds, first pts to the end of the last frame
    width: int
    height: int
    prefix: Prefix
    thumbnail_jpeg: bytes  # the middle keyframe, or a plain gray picture if none decoded
    thumbnail_decoded: bool


def scan(path: Path) -> Prefix:
    """Walk the top-level boxes; SalvageError if there is no index or no complete fragment."""
    total = path.stat().st_size
    pos, good, fragments = 0, 0, 0
    seen: set[bytes] = set()
    pending_moof, last = False, b""
    with path.open("rb") as f:
        for _ in range(_MAX_BOXES):
            head = f.read(8)
            if len(head) < 8:
                break
            size, kind = int.from_bytes(head[:4], "big"), head[4:8]
            if size == 1:
                large = f.read(8)
                if len(large) < 8:
                    break
                size = int.from_bytes(large, "big")
            elif size == 0:
                size = total - pos  # "to the end of the file": only a last box may say so
            if size < 8 or pos + size > total:
                break  # torn or garbage: everything before it stands
            pos += size
            f.seek(pos)
            seen.add(kind)
            if kind == b"moof":
                pending_moof = True
                continue
            if kind == b"mdat" and pending_moof:
                fragments += 1
            pending_moof = False
            good, last = pos, kind
    if b"moov" not in seen or b"mdat" not in seen or good == 0:
        raise SalvageError(f"{path.name}: no complete fragment and no index "
                           f"({total} bytes)")
    fragmented = b"moof" in seen
    if fragmented and fragments == 0:
        raise SalvageError(f"{path.name}: no complete fragment ({total} bytes)")
    finished = not fragmented or (last == b"mfra" and good == total)
    return Prefix(good, total, fragments, fragmented, finished)


def salvage(src: Path, dest: Path, *, thumbnail_width: int = 320) -> Salvaged:
    """Copy the decodable part of `src` into a new standard MP4 at `dest` (index in front).

    `src` is left as it is. SalvageError if nothing decodable is found or `dest` cannot be
    written (then `dest` is removed).
    """
    prefix = scan(src)
    try:
        with src.open("rb") as raw:
            window = _Window(raw, prefix.size)
            frames, duration, size, thumb = _copy(window, dest, faststart=True,
                                                  thumbnail=True)
    except (SalvageError, *_AV_ERRORS) as e:
        with contextlib.suppress(OSError):
            dest.unlink()
        if isinstance(e, SalvageError):
            raise SalvageError(f"{src.name}: {e}") from e
        raise SalvageError(f"{src.name}: {_reason(e)}") from e
    jpeg = jpeg_thumbnail(thumb, size, thumbnail_width)
    return Salvaged(frames, duration, size[0], size[1], prefix, jpeg, thumb is not None)


def jpeg_thumbnail(bgr: np.ndarray | None, size: tuple[int, int], width: int) -> bytes:
    """A thumbnail `width` wide; mid-gray in the clip's shape when no picture decoded."""
    w, h = size if size[0] > 0 and size[1] > 0 else (4, 3)
    tw = max(1, min(width, w))
    th = max(1, round(h * tw / w))
    small: np.ndarray = (np.full((th, tw, 3), 128, np.uint8) if bgr is None
                         else cv2.resize(bgr, (tw, th), interpolation=cv2.INTER_AREA))
    ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return buf.tobytes() if ok else b""


def defragment(path: Path, *, faststart: bool = True, expect: int | None = None,
               moov_reserve: int | None = None) -> None:
    """Rewrite a finished fragmented MP4 as a standard one, in place (one rename).

    With `faststart` and `expect` (the frames written) the copy is written in one pass:
    space for the index is reserved in front of the media, `moov_reserve` bytes or else
    an upper bound for `expect` frames (the unused rest becomes a free box). Should the
    index not fit, the copy is made again the way FFmpeg's faststart does it, writing the
    media and then moving it behind the index (every byte written twice).

    Until the rename the fragmented file stays whole, and the copy is fsynced before it, so a
    crash or power cut during the copy loses nothing. SalvageError on failure (the
    fragmented file is then left as it was).
    """
    part = path.with_name(path.name + ".std")
    try:
        reserve = 0
        if faststart and expect:
            reserve = moov_reserve if moov_reserve is not None else index_bound(path, expect)
        frames = _standard_copy(path, part, faststart=faststart, reserve=reserve)
        if expect is not None and frames != expect:
            raise SalvageError(f"{path.name}: {frames} frames copied, {expect} written")
        # On disk before it replaces the synced fragments: a power cut after the rename must
        # not leave a copy the file system never wrote out.
        with part.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(part, path)
    except (SalvageError, *_AV_ERRORS) as e:
        with contextlib.suppress(OSError):
            part.unlink()
        if isinstance(e, SalvageError):
            raise
        raise SalvageError(f"{path.name}: making a standard MP4 failed: {_reason(e)}") from e


def index_bound(path: Path, frames: int) -> int:
    """Bytes that the standard index of fragmented `path` with `frames` frames fits in."""
    return _header_index_size(path) + INDEX_BYTES_EXTRA + INDEX_BYTES_PER_SAMPLE * frames


def _header_index_size(path: Path) -> int:
    """Size of the (empty) moov box a fragmented file starts with; 0 if not found."""
    with path.open("rb") as f:
        for _ in range(8):
            head = f.read(8)
            if len(head) < 8:
                break
            size = int.from_bytes(head[:4], "big")
            if head[4:8] == b"moov":
                return size
            if size < 8:
                break
            f.seek(size - 8, os.SEEK_CUR)
    return 0


def _standard_copy(src: Path, dest: Path, *, faststart: bool, reserve: int) -> int:
    """Copy `src` to a standard MP4 `dest`, its index in `reserve` bytes in front if > 0;
    returns the frames copied."""
    if reserve > 0:
        try:
            with src.open("rb") as raw:
                return _copy(raw, dest, faststart=faststart, thumbnail=False,
                             reserve=reserve)[0]
        except (SalvageError, *_AV_ERRORS) as e:
            # FFmpeg has then written the index over the start of the media: start again.
            log.warning("%s: the copy with %d bytes reserved for the index failed (%s); "
                        "copying again and moving the index to the front", src.name,
                        reserve, _reason(e))
    with src.open("rb") as raw:
        return _copy(raw, dest, faststart=faststart, thumbnail=False)[0]


def _copy(src: io.RawIOBase | io.BufferedReader, dest: Path, *, faststart: bool,
          thumbnail: bool, reserve: int = 0
          ) -> tuple[int, float, tuple[int, int], np.ndarray | None]:
    """Packet copy of the first video stream; with `reserve` > 0 the index is written into
    that many bytes left in front of the media (FFmpeg fails at the end if it does not fit).

    Returns (frames, duration s, (width, height), BGR picture of the middle keyframe).
    """
    keyframes: list[bytes] = []
    frames, first, end = 0, 0, 0
    with av.open(src, "r", format="mp4") as inp:
        if not inp.streams.video:
            raise SalvageError("no video stream")
        ins = inp.streams.video[0]
        tb = ins.time_base
        size = (ins.codec_context.width, ins.codec_context.height)
        extradata = bytes(ins.codec_context.extradata or b"")
        opts = (mp4_options(moov_size=str(reserve)) if reserve > 0
                else mp4_options(movflags="+faststart") if faststart else mp4_options())
        with av.open(str(dest), "w", format="mp4", options=opts) as out:
            outs = out.add_stream_from_template(ins, opaque=True)
            with contextlib.suppress(RuntimeError):
                outs.time_base = tb  # PyAV 14 refuses it on a decoder context
            shift: int | None = None
            for pkt in inp.demux(ins):
                if pkt.size == 0 or pkt.pts is None or pkt.dts is None:
                    continue  # the demuxer's end-of-stream marker
                if shift is None:
                    # A fragmented file's header went out before the first packet, so it
                    # could not say that reordering delays the first picture; the writer
                    # had put the first keyframe at 0 and so does this copy.
                    shift = pkt.pts
                pkt.pts, pkt.dts = pkt.pts - shift, pkt.dts - shift
                dur = max(1, pkt.duration or 1)
                pkt.duration = dur
                first = pkt.pts if frames == 0 else min(first, pkt.pts)
                end = max(end, pkt.pts + dur)
                frames += 1
                if thumbnail and pkt.is_keyframe:
                    keyframes.append(bytes(pkt))
                pkt.stream = outs
                out.mux(pkt)
    if frames == 0:
        raise SalvageError("no complete frame")
    duration = float((end - first) * tb) if tb is not None else 0.0
    thumb = _picture(keyframes[len(keyframes) // 2], extradata) if keyframes else None
    return frames, duration, size, thumb


def _picture(data: bytes, extradata: bytes) -> np.ndarray | None:
    """Decode one keyframe alone; None if it does not give a picture."""
    try:
        ctx = av.CodecContext.create("h264", "r")
        assert isinstance(ctx, av.VideoCodecContext)
        if extradata:
            ctx.extradata = extradata
        pictures = list(ctx.decode(av.Packet(data))) + list(ctx.decode(None))
    except _AV_ERRORS:
        return None
    for p in pictures:
        if isinstance(p, av.VideoFrame):
            return p.to_ndarray(format="bgr24")
    return None


class _Window(io.RawIOBase):
    """The first `size` bytes of an open file, as a file of its own (for the demuxer)."""

    def __init__(self, raw: io.BufferedReader, size: int) -> None:
        super().__init__()
        self._raw, self._size, self._pos = raw, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = max(0, min(len(buffer), self._size - self._pos))
        if n == 0:
            return 0
        self._raw.seek(self._pos)
        data = self._raw.read(n)
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


def _reason(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return " ".join(str(text).split()) or type(e).__name__
