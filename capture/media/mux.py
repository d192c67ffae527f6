"""Writing H.264 Packets into an MP4 without re-encoding (browsers play it)."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
from fractions import Fraction
from pathlib import Path

import av
import av.error

from capture.frame import Packet, StreamInfo
from capture.media.fragments import SalvageError, defragment
from capture.media.mp4opts import mp4_options
from common.mediasign.mp4 import is_avcc, read_avcc
from common.mediasign.nal import join_annex_b

log = logging.getLogger(__name__)
TIME_BASE = Fraction(1, 90000)
_AV_ERRORS = (av.error.FFmpegError, OSError, ValueError)


class MuxError(Exception):
    """The MP4 cannot be written (disk full, bad packets); one line for the user."""


class Mp4Writer:
    """An MP4 of `info`'s H.264 stream; timestamps start at 0 at the first keyframe.

    Packets before the first keyframe cannot be decoded and are dropped (counted in
    `dropped`). With `faststart` the index (moov) goes to the front so browsers can play
    the file before it has fully downloaded; this costs one rewrite of the file on close.

    With `fragment_seconds` > 0 the file is a fragmented MP4 while it is written: a
    fragment (moof + mdat) of at most that much media goes to disk at a time and, with
    `sync`, is fsynced at once by the thread calling `write`, so a power cut loses only the
    fragment in progress (`fragments.salvage` recovers the rest). On close the file becomes
    a standard MP4 (a packet copy, index in front unless not `faststart`), replacing the
    fragmented one in one rename. The copy is written once, into space reserved in front
    for the index (`moov_reserve` bytes, by default an upper bound for the frames written;
    0 moves the media behind the index in a second pass, as FFmpeg's faststart does).
    """

    def __init__(self, path: str | Path, info: StreamInfo, *, faststart: bool = True,
                 fragment_seconds: float = 0.0, sync: bool = True,
                 moov_reserve: int | None = None) -> None:
        self.path = Path(path)
        self.frames = 0
        self.dropped = 0
        self.syncs = 0  # fragments made durable
        self.sync_seconds = 0.0  # time spent in fsync
        self._origin: float | None = None
        self._first = 0  # smallest pts written (ticks)
        self._end = 0  # largest pts + duration written (ticks)
        self._last_dts: int | None = None
        self._closed = False
        self._faststart = faststart
        self._fragmented = fragment_seconds > 0
        self._moov_reserve = moov_reserve
        self._sync_fd = -1
        self._synced_size = 0
        if self._fragmented:
            opts = mp4_options(movflags="frag_keyframe+empty_moov+default_base_moof",
                               frag_duration=str(max(1, round(fragment_seconds * 1e6))),
                               # Each finished fragment reaches the kernel before mux()
                               # returns.
                               flush_packets="1")
        else:
            opts = mp4_options(movflags="+faststart") if faststart else mp4_options()
        try:
            # FFmpeg opens the file only at the first packet; fail here instead.
            self.path.open("wb").close()
            if self._fragmented and sync:
                # fsync applies to the file, not the descriptor: this one syncs what
                # FFmpeg writes through its own.
                self._sync_fd = os.open(self.path, os.O_RDONLY)
            self._out = av.open(str(self.path), "w", format="mp4", options=opts)
        except _AV_ERRORS as e:
            self._close_sync_fd()
            raise MuxError(f"cannot create {self.path}: {_reason(e)}") from e
        self._info = info
        self._stream: av.VideoStream | None = None
        if info.extradata:
            self._stream = self._setup(_annex_b(info.extradata))
        # else the parameter sets come in-band: the stream is set up at the first keyframe

    def _setup(self, headers: bytes) -> av.VideoStream:
        try:
            return self._add_stream(headers)
        except _AV_ERRORS as e:
            self.discard()
            raise MuxError(f"{self.path}: cannot set up an H.264 stream: {_reason(e)}") from e

    def _add_stream(self, headers: bytes) -> av.VideoStream:
        # A stream copied from a demuxed H.264 stream has the H.264 *decoder* as its codec:
        # PyAV 14 (Debian trixie) opens it and 15+ leaves it closed, and either way the muxer
        # gets our parameter sets untouched. An encoder template would be opened by PyAV 14,
        # and x264 would replace them with its own.
        with av.open(io.BytesIO(headers), "r", format="h264") as probe:
            stream = self._out.add_stream_from_template(probe.streams.video[0], opaque=True)
        info = self._info
        cc = stream.codec_context
        if info.extradata:
            cc.extradata = info.extradata
        cc.width, cc.height = info.width, info.height
        if info.fps > 0:
            cc.framerate = Fraction(info.fps).limit_denominator(1001)
        with contextlib.suppress(RuntimeError):
            # PyAV 14 refuses it on a decoder context; FFmpeg's default for video is the same.
            stream.time_base = TIME_BASE
        assert isinstance(stream, av.VideoStream)
        return stream

    def write(self, packet: Packet) -> None:
        """Add one packet (decode order); MuxError if the file cannot take it."""
        if self._closed:
            raise MuxError(f"{self.path}: write after close")
        if self._origin is None:
            if not packet.keyframe:
                self.dropped += 1
                return
            if self._stream is None:
                self._stream = self._setup(packet.data)
            self._origin = packet.pts
        pts = round((packet.pts - self._origin) / TIME_BASE)
        dts_s = packet.pts if packet.dts is None else packet.dts
        dts = min(round((dts_s - self._origin) / TIME_BASE), pts)
        if self._last_dts is not None and dts <= self._last_dts:
            dts = self._last_dts + 1  # FFmpeg demands strictly increasing dts
            pts = max(pts, dts)
        dur = max(1, round(packet.duration / TIME_BASE))
        p = av.Packet(packet.data)
        p.pts, p.dts, p.duration, p.time_base = pts, dts, dur, TIME_BASE
        p.is_keyframe = packet.keyframe
        assert self._stream is not None  # set up at the first keyframe at the latest
        p.stream = self._stream
        try:
            self._out.mux(p)
            if self._sync_fd >= 0:
                self._sync_fragment()
        except _AV_ERRORS as e:
            raise MuxError(f"{self.path}: writing failed: {_reason(e)}") from e
        self._first = pts if self.frames == 0 else min(self._first, pts)
        self._end = max(self._end, pts + dur)
        self._last_dts = dts
        self.frames += 1

    def _sync_fragment(self) -> None:
        size = os.fstat(self._sync_fd).st_size
        if size > self._synced_size:  # a fragment was written: the muxer holds the rest
            t = time.perf_counter()
            os.fsync(self._sync_fd)
            self.sync_seconds += time.perf_counter() - t
            self.syncs += 1
            self._synced_size = size

    def _close_sync_fd(self) -> None:
        if self._sync_fd >= 0:
            os.close(self._sync_fd)
            self._sync_fd = -1

    def close(self) -> tuple[int, float]:
        """Finish the file; returns (frames, duration in seconds). MuxError if it failed."""
        if self._closed:
            return self.frames, self.duration
        self._closed = True
        self._close_sync_fd()
        if self.dropped:
            log.warning("%s: dropped %d packets before the first keyframe",
                        self.path.name, self.dropped)
        try:
            self._out.close()
        except _AV_ERRORS as e:
            raise MuxError(f"{self.path}: finishing the MP4 failed: {_reason(e)}") from e
        if self.frames == 0:
            raise MuxError(f"{self.path}: no keyframe arrived, the clip is empty")
        if self._fragmented:
            try:
                defragment(self.path, faststart=self._faststart, expect=self.frames,
                           moov_reserve=self._moov_reserve)
            except SalvageError as e:
                raise MuxError(str(e)) from e
        return self.frames, self.duration

    def discard(self) -> None:
        """Close after a failure, ignoring further errors (the caller deletes the file)."""
        self._closed = True
        self._close_sync_fd()
        with contextlib.suppress(*_AV_ERRORS):
            self._out.close()

    @property
    def duration(self) -> float:
        return float((self._end - self._first) * TIME_BASE) if self.frames else 0.0


def _reason(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return " ".join(str(text).split()) or type(e).__name__


def _annex_b(extradata: bytes) -> bytes:
    """SPS and PPS with start codes, from an avcC record or as they are."""
    if not is_avcc(extradata):
        return extradata  # already Annex B
    return join_annex_b(list(read_avcc(extradata)[1]))
