"""Writing H.264 Packets into an MP4 without re-encoding (browsers play it)."""

from __future__ import annotations

import contextlib
import io
import logging
from fractions import Fraction
from pathlib import Path

import av
import av.error

from capture.frame import Packet, StreamInfo

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
    """

    def __init__(self, path: str | Path, info: StreamInfo, *, faststart: bool = True) -> None:
        self.path = Path(path)
        self.frames = 0
        self.dropped = 0
        self._origin: float | None = None
        self._first = 0  # smallest pts written (ticks)
        self._end = 0  # largest pts + duration written (ticks)
        self._last_dts: int | None = None
        self._closed = False
        opts = {"movflags": "+faststart"} if faststart else {}
        try:
            # FFmpeg opens the file only at the first packet; fail here instead.
            self.path.open("wb").close()
            self._out = av.open(str(self.path), "w", format="mp4", options=opts)
        except _AV_ERRORS as e:
            raise MuxError(f"cannot create {self.path}: {_reason(e)}") from e
        try:
            self._stream = self._add_stream(info)
        except _AV_ERRORS as e:
            self.discard()
            raise MuxError(f"{self.path}: cannot set up an H.264 stream: {_reason(e)}") from e

    def _add_stream(self, info: StreamInfo) -> av.VideoStream:
        rate = Fraction(info.fps).limit_denominator(1001) if info.fps > 0 else None
        if not info.extradata:
            # Annex B with in-band SPS/PPS: PyAV lifts them out of the first keyframe.
            stream = self._out.add_mux_stream("h264", rate=rate, width=info.width,
                                              height=info.height)
        else:
            # A stream made from a template gets a codec context that is never opened,
            # which is the only way PyAV lets us hand the muxer our avcC.
            scratch = av.open(io.BytesIO(), "w", format="mp4")
            try:
                template = scratch.add_stream("libx264", rate=rate)
                template.width, template.height = info.width, info.height
                stream = self._out.add_stream_from_template(template)
            finally:
                scratch.close()
            stream.codec_context.extradata = info.extradata
            stream.codec_context.width, stream.codec_context.height = info.width, info.height
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
        p.stream = self._stream
        try:
            self._out.mux(p)
        except _AV_ERRORS as e:
            raise MuxError(f"{self.path}: writing failed: {_reason(e)}") from e
        self._first = pts if self.frames == 0 else min(self._first, pts)
        self._end = max(self._end, pts + dur)
        self._last_dts = dts
        self.frames += 1

    def close(self) -> tuple[int, float]:
        """Finish the file; returns (frames, duration in seconds). MuxError if it failed."""
        if self._closed:
            return self.frames, self.duration
        self._closed = True
        if self.dropped:
            log.warning("%s: dropped %d packets before the first keyframe",
                        self.path.name, self.dropped)
        try:
            self._out.close()
        except _AV_ERRORS as e:
            raise MuxError(f"{self.path}: finishing the MP4 failed: {_reason(e)}") from e
        if self.frames == 0:
            raise MuxError(f"{self.path}: no keyframe arrived, the clip is empty")
        return self.frames, self.duration

    def discard(self) -> None:
        """Close after a failure, ignoring further errors (the caller deletes the file)."""
        self._closed = True
        with contextlib.suppress(*_AV_ERRORS):
            self._out.close()

    @property
    def duration(self) -> float:
        return float((self._end - self._first) * TIME_BASE) if self.frames else 0.0


def _reason(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return " ".join(str(text).split()) or type(e).__name__
