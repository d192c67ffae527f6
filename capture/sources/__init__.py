"""Frame sources: open_source() picks one from a spec string."""

from __future__ import annotations

import re
from pathlib import Path

from capture.frame import FrameSource, SourceError
from capture.privacy import MaskedSource, PrivacyMask
from config.schema import CaptureConfig

_LIVE = re.compile(r"^(camera:|/dev/video\d+$|[a-z][a-z0-9+.-]*://)", re.IGNORECASE)
_LIVE_SCHEMES = ("camera:", "/dev/video", "rtsp://", "rtsps://", "http://", "https://",
                 "udp://", "tcp://", "rtmp://")


def is_live(spec: str) -> bool:
    """A camera or stream (it can fail and come back), not a recording."""
    return spec.startswith("picamera:") or bool(_LIVE.match(spec))


def open_source(spec: str, cfg: CaptureConfig, *, pace: float | None,
                privacy: PrivacyMask | None = None) -> FrameSource:
    """Open a video file, image folder or printf pattern, live device/URL, or synthetic scene.

    pace: None = as fast as possible, 1.0 = real time, N = N times real time (recorded
    and synthetic sources only; a live source runs at its own pace). privacy: areas
    blacked out in every picture the source delivers (the Pi camera paints its own
    buffers; other sources are wrapped and their packets dropped).
    """
    if spec.startswith("picamera:"):
        from capture.sources.picam import PiCameraSource

        return PiCameraSource(spec, cfg, privacy=privacy)
    source = _open(spec, cfg, pace)
    return MaskedSource(source, privacy) if privacy else source


def _open(spec: str, cfg: CaptureConfig, pace: float | None) -> FrameSource:
    from capture.sources.images import ImageSource, is_pattern
    from capture.sources.live import LiveSource
    from capture.sources.synthetic import SyntheticSource
    from capture.sources.video import VideoFileSource

    if not spec:
        raise SourceError("no source given")
    if spec.startswith("synthetic:"):
        return SyntheticSource(spec, cfg.lores_width, loop=cfg.loop, fps=cfg.fps, pace=pace)
    if _LIVE.match(spec):
        if not spec.lower().startswith(_LIVE_SCHEMES):
            raise SourceError(f"{spec}: unknown source scheme (use a file, a folder, "
                              "camera:N, rtsp://, http:// or synthetic:NAME)")
        return LiveSource(spec, cfg)
    if Path(spec).is_dir() or is_pattern(spec):
        return ImageSource(spec, cfg, pace=pace)
    return VideoFileSource(spec, cfg, pace=pace)


__all__ = ["is_live", "open_source"]
