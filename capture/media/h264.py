"""Software H.264 (libx264 through PyAV) for sources that give pictures, not packets."""

from __future__ import annotations

from fractions import Fraction

import av
import av.error
import numpy as np
from av.video.frame import PictureType

from capture.frame import Frame, Packet, StreamInfo
from capture.media.encode import EncodeError, Encoder
from config.schema import RecordingConfig

TIME_BASE = Fraction(1, 90000)
_AV_ERRORS = (av.error.FFmpegError, OSError, ValueError)


class H264Encoder(Encoder):
    """libx264, yuv420p, a keyframe every `keyframe_interval_seconds` and none in between.

    `tune=zerolatency` turns off B-frames and lookahead, so each frame's packet comes out
    with that frame and dts == pts. Headers (SPS/PPS) are repeated in-band on every
    keyframe (Annex B, empty extradata), so any keyframe can start a clip.
    """

    def __init__(self, cfg: RecordingConfig, *, threads: int = 0) -> None:
        super().__init__()
        self._cfg = cfg
        self._threads = threads  # 0 = libx264 decides
        self._ctx: av.VideoCodecContext | None = None
        self._size = (0, 0)
        self._frame_time = 0.04
        self._last_tick = -1
        self.gop = 0

    def _start(self, info: StreamInfo) -> StreamInfo:
        w, h = info.width, info.height
        if w <= 0 or h <= 0 or w % 2 or h % 2:
            raise EncodeError(f"H.264 (yuv420p) needs an even picture size, got {w}x{h}")
        fps = info.fps if info.fps > 0 else 25.0
        # Rounded down: the GOP must never be longer than the configured interval.
        self.gop = max(1, int(self._cfg.keyframe_interval_seconds * fps + 1e-6))
        try:
            ctx = av.CodecContext.create("libx264", "w")
            assert isinstance(ctx, av.VideoCodecContext)
            ctx.width, ctx.height, ctx.pix_fmt = w, h, "yuv420p"
            ctx.time_base = TIME_BASE
            ctx.framerate = Fraction(fps).limit_denominator(1001)
            ctx.gop_size = self.gop
            if self._threads:
                ctx.thread_count = self._threads
            ctx.options = {
                "preset": self._cfg.preset, "crf": str(self._cfg.crf),
                "tune": "zerolatency", "sc_threshold": "0", "keyint_min": str(self.gop),
            }
            ctx.open()
        except _AV_ERRORS as e:
            raise EncodeError(f"cannot start libx264 at {w}x{h}: {_reason(e)}") from e
        self._ctx, self._size = ctx, (w, h)
        self._frame_time, self._last_tick = 1.0 / fps, -1
        return StreamInfo(width=w, height=h, fps=fps, codec="h264", extradata=b"",
                          frames=info.frames, name=info.name)

    def _encode(self, frame: Frame) -> list[Packet]:
        assert self._ctx is not None
        vf = self._picture(frame)
        # x264 needs strictly increasing timestamps; a repeated source pts must not kill it.
        tick = max(round(frame.pts / TIME_BASE), self._last_tick + 1)
        self._last_tick = tick
        vf.pts, vf.time_base = tick, TIME_BASE
        # A decoded frame keeps its I/P/B type, which libx264 would obey: let x264 choose.
        vf.pict_type = PictureType.NONE
        try:
            return self._packets(self._ctx.encode(vf))
        except _AV_ERRORS as e:
            raise EncodeError(f"H.264 encoding failed at frame {frame.seq}: {_reason(e)}") from e

    def _stop(self) -> list[Packet]:
        ctx, self._ctx = self._ctx, None
        if ctx is None:
            return []
        try:
            return self._packets(ctx.encode(None))
        except _AV_ERRORS as e:
            raise EncodeError(f"H.264 flush failed: {_reason(e)}") from e

    def _picture(self, frame: Frame) -> av.VideoFrame:
        w, h = self._size
        vf = getattr(frame.main, "av_frame", None)
        if isinstance(vf, av.VideoFrame):
            if (vf.width, vf.height) != (w, h):
                raise EncodeError(
                    f"frame {frame.seq} is {vf.width}x{vf.height}, encoder expects {w}x{h}")
            return vf
        bgr = frame.main.to_bgr()
        if bgr.ndim != 3 or bgr.shape[:2] != (h, w) or bgr.shape[2] != 3:
            raise EncodeError(
                f"frame {frame.seq} picture has shape {bgr.shape}, encoder expects ({h}, {w}, 3)")
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24")

    def _packets(self, packets: list[av.Packet]) -> list[Packet]:
        out = []
        for p in packets:
            if p.pts is None:
                continue
            pts = float(p.pts * TIME_BASE)
            dts = None if p.dts is None or p.dts == p.pts else float(p.dts * TIME_BASE)
            out.append(Packet(bytes(p), pts, self._frame_time, bool(p.is_keyframe), dts))
        return out


def _reason(e: BaseException) -> str:
    text = getattr(e, "strerror", None) or str(e)
    return " ".join(str(text).split()) or type(e).__name__
