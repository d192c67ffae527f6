"""Decoding video files with PyAV: pictures with the packets that made them, and probes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np

from capture.frame import Packet, SourceError, StreamInfo
from common.mediasign.mp4 import Mp4Error, is_avcc, read_moov
from common.mediasign.nal import split_length_prefixed

# Pixel formats whose first plane is 8-bit luma, so grayscale is a view, not a conversion.
_LUMA_FIRST = frozenset({
    "yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p",
    "yuvj440p", "yuv411p", "yuv410p", "nv12", "nv21", "gray",
})
_AV_ERRORS = (av.error.FFmpegError, OSError, ValueError)
# FFmpeg's decoders that draw a text file as pictures (its "tty" and text-art demuxers take
# .txt, .nfo, .asc and the like): a notes file handed over by mistake is not footage.
TEXT_ART = frozenset({"ansi", "bintext", "xbin", "idf"})


class AvMainImage:
    """A decoded picture, converted to BGR on first request.

    `av_frame` is the decoder's av.VideoFrame (usually yuv420p); an encoder in this package
    can feed it to libx264 directly and skip the BGR round trip. Conversions of it hold
    `lock`: the motion, live and people threads may convert one picture at the same time,
    and a PyAV frame converts through a scaler of its own that two threads must not share
    (they crashed or hung the daemon).
    """

    __slots__ = ("_bgr", "av_frame", "lock")

    def __init__(self, av_frame: av.VideoFrame) -> None:
        self.av_frame = av_frame
        self._bgr: np.ndarray | None = None
        self.lock = threading.Lock()

    def to_bgr(self) -> np.ndarray:
        with self.lock:
            if self._bgr is None:
                self._bgr = self.av_frame.to_ndarray(format="bgr24")
            return self._bgr


@dataclass(slots=True)
class DecodedFrame:
    pts: float  # seconds from the stream start, plus the reader's pts_offset
    gray: np.ndarray  # full-resolution luma; may be a strided view into the picture
    main: AvMainImage
    packets: list[Packet]  # H.264 packets fed to the decoder since the previous frame
    limited: bool = False  # luma in video range (16-235), to be expanded to 0-255


@dataclass(frozen=True)
class ClipProbe:
    frames: int
    duration: float  # seconds, from first frame pts to end of last frame
    width: int
    height: int
    codec: str


def check_file(path: str | Path) -> Path:
    """The path if it is a non-empty regular file; SourceError otherwise."""
    p = Path(path)
    if not p.exists():
        raise SourceError(f"video file not found: {p}")
    if not p.is_file():
        raise SourceError(f"{p}: not a regular file")
    if p.stat().st_size == 0:
        raise SourceError(f"{p}: empty file")
    return p


def luma(frame: av.VideoFrame) -> np.ndarray:
    """The frame's 8-bit luma: a view of plane 0 when possible (mind the line stride)."""
    if frame.format.name in _LUMA_FIRST:
        plane = frame.planes[0]
        stride = plane.line_size
        buf = np.frombuffer(memoryview(plane), np.uint8, count=stride * frame.height)
        return buf.reshape(frame.height, stride)[:, : frame.width]
    return frame.to_ndarray(format="gray")


def limited_range(frame: av.VideoFrame) -> bool:
    """True when luma uses video range (16-235): yuvj* and JPEG-range frames do not."""
    return not frame.format.name.startswith("yuvj") and frame.color_range != 2


class VideoFileReader:
    """Decodes one video file; iterate for DecodedFrames in presentation order.

    Packets the decoder rejects, and frames it could only conceal, are counted in `skipped`;
    an unreadable or missing tail (truncated file) ends iteration with the reason in `error`.
    """

    def __init__(self, path: str | Path, *, pts_offset: float = 0.0) -> None:
        self.path = check_file(path)
        self.skipped = 0
        self.error: str | None = None
        self._offset = pts_offset
        try:
            self._container = av.open(str(self.path), mode="r")
        except _AV_ERRORS as e:
            if _unfinished_mp4(self.path):
                raise SourceError(f"{self.path}: an MP4 without its index (no moov box): cut "
                                  "short while it was written or copied") from e
            raise SourceError(f"{self.path}: not a video FFmpeg can decode ({_reason(e)})") from e
        if not self._container.streams.video:
            self._container.close()
            raise SourceError(f"{self.path}: no video stream")
        stream = self._container.streams.video[0]
        if stream.codec_context.name in TEXT_ART:
            self._container.close()
            raise SourceError(f"{self.path}: a text file, not a video (FFmpeg would draw its "
                              "characters as pictures)")
        stream.thread_type = "AUTO"
        self._stream = stream
        self._ctx = stream.codec_context
        self._tb = float(stream.time_base or 0) or 1.0 / 90000
        self._start = stream.start_time or 0
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else 25.0
        self._frame_time = 1.0 / fps
        extradata = bytes(self._ctx.extradata or b"")
        self._remux = self._ctx.name == "h264"
        self._length_size = _length_size(extradata)
        if self._ctx.width <= 0 or self._ctx.height <= 0:
            self.close()
            raise SourceError(f"{self.path}: video stream has no picture size")
        self.info = StreamInfo(
            width=self._ctx.width, height=self._ctx.height, fps=fps,
            codec="h264" if self._remux else self._ctx.name,
            extradata=extradata if self._remux else b"",
            frames=stream.frames or None, name=self.path.name,
        )
        self._last_pts = pts_offset - self._frame_time

    def __iter__(self) -> Iterator[DecodedFrame]:
        count = 0
        for decoded in self._frames():
            count += 1
            yield decoded
        self._check_complete(count)

    def _check_complete(self, count: int) -> None:
        """Notice a file that ends before its header says it should (cut short)."""
        if self.error or count == 0:
            return
        expected = self._stream.frames
        if expected and count < expected:
            self.error = f"only {count} of {expected} frames could be decoded"
            return
        container_s = (self._container.duration or 0) / 1_000_000
        reached = self._last_pts - self._offset + self._frame_time
        if container_s and reached < container_s - 2 * self._frame_time - 0.05:
            self.error = f"video stops at {reached:.2f} s of {container_s:.2f} s (truncated)"

    def _frames(self) -> Iterator[DecodedFrame]:
        pending: list[Packet] = []
        demux = self._container.demux(self._stream)
        while True:
            try:
                pkt = next(demux)
            except StopIteration:
                break
            except _AV_ERRORS as e:
                self.error = f"reading stopped: {_reason(e)}"
                break
            if pkt.size == 0:
                continue  # the demuxer's end marker; we flush below
            if self._remux:
                packet = self._packet(pkt)
                if self._whole(packet.data):
                    pending.append(packet)
                else:  # cut short (a truncated file): not into a clip, which would not play
                    self.skipped += 1
            for f in self._decode(pkt):
                yield self._frame(f, pending)
                pending = []
        for f in self._decode(None):
            yield self._frame(f, pending)
            pending = []

    def close(self) -> None:
        self._container.close()

    def _decode(self, pkt: av.Packet | None) -> list[av.VideoFrame]:
        try:
            frames = self._ctx.decode(pkt)
        except _AV_ERRORS:
            self.skipped += 1
            return []
        self.skipped += sum(1 for f in frames if f.is_corrupt)
        return frames

    def _whole(self, sample: bytes) -> bool:
        """True if the sample's length-prefixed NAL units fill it exactly (Annex B: always)."""
        if not self._length_size:
            return True
        try:
            split_length_prefixed(sample, self._length_size)
        except ValueError:
            return False
        return True

    def _secs(self, ticks: int | None, fallback: float) -> float:
        return fallback if ticks is None else (ticks - self._start) * self._tb + self._offset

    def _packet(self, pkt: av.Packet) -> Packet:
        pts = self._secs(pkt.pts, self._last_pts + self._frame_time)
        dur = pkt.duration * self._tb if pkt.duration else self._frame_time
        return Packet(bytes(pkt), pts, dur, bool(pkt.is_keyframe), self._secs(pkt.dts, pts))

    def _frame(self, f: av.VideoFrame, packets: list[Packet]) -> DecodedFrame:
        pts = self._secs(f.pts, self._last_pts + self._frame_time)
        self._last_pts = pts
        return DecodedFrame(pts, luma(f), AvMainImage(f), packets, limited_range(f))


def _length_size(extradata: bytes) -> int:
    """NAL length prefix size of H.264 with this extradata (avcC's fifth byte); 0 for Annex
    B. Read alone: the rest of a damaged record is the decoder's to refuse."""
    return (extradata[4] & 3) + 1 if is_avcc(extradata) else 0


def _unfinished_mp4(path: Path) -> bool:
    """An MP4 (its first box ftyp) with no moov box: stopped before its index was written."""
    try:
        with open(path, "rb") as f:
            if f.read(8)[4:] != b"ftyp":
                return False
        read_moov(path)
    except Mp4Error:
        return True
    except OSError:
        return False
    return False


def probe_clip(path: str | Path) -> ClipProbe:
    """Decode a whole file to prove it plays; SourceError on any decoding problem."""
    reader = VideoFileReader(path)
    try:
        count, first, last = 0, 0.0, 0.0
        for d in reader:
            if count == 0:
                first = d.pts
            last = d.pts
            count += 1
        if reader.error or reader.skipped:
            why = reader.error or f"{reader.skipped} undecodable packets"
            raise SourceError(f"{reader.path}: broken after {count} frames ({why})")
        if count == 0:
            raise SourceError(f"{reader.path}: no decodable video frames")
        info = reader.info
        return ClipProbe(count, last - first + 1.0 / info.fps, info.width, info.height,
                         info.codec)
    finally:
        reader.close()


def _reason(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return " ".join(str(text).split()) or type(e).__name__
