"""Frame sources: open_source() picks one from a spec string."""

from __future__ import annotations

import re
from pathlib import Path

from capture.frame import FrameSource, SourceError
from capture.privacy import MaskedSource, PrivacyMask
from config.schema import CaptureConfig

_LIVE = re.compile(r"^(camera:|/dev/video\d+$|[a-z][a-z0-9+.-]*://)", re.IGNORECASE)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)


def is_live(spec: str) -> bool:
    """A camera or stream (it can fail and come back), not a recording."""
    return spec.startswith("picamera:") or bool(_LIVE.match(spec))


def source_kind(spec: str) -> str:
    """picamera, synthetic, live, images or video; SourceError for an unknown scheme."""
    from capture.sources.images import is_pattern
    from capture.sources.live import LIVE_SCHEMES
    from capture.sources.live import parse_spec as parse_live

    if not spec:
        raise SourceError("no source given")
    if spec.startswith("picamera:"):
        return "picamera"
    if spec.startswith("synthetic:"):
        return "synthetic"
    if _LIVE.match(spec):
        if not spec.lower().startswith(LIVE_SCHEMES):
            raise SourceError(f"{spec}: unknown source scheme (use a file, a folder, "
                              "camera:N, /dev/videoN, rtsp://, http://, picamera:N or "
                              "synthetic:NAME)")
        parse_live(spec)
        return "live"
    path = Path(spec).expanduser()
    if path.is_dir() or is_pattern(spec):
        return "images"
    scheme = _SCHEME.match(spec)
    if scheme and not path.exists():
        raise SourceError(f"{spec}: unknown source scheme {scheme.group(1)!r}: use a video "
                          "file, an image folder or pattern, camera:N, /dev/videoN, "
                          "rtsp://..., picamera:N or synthetic:NAME")
    return "video"


def check_spec(spec: str, cfg: CaptureConfig) -> None:
    """Everything about `spec` that can be known without opening it: the scheme, every
    parameter, that a file or folder exists. SourceError says what is wrong. The opener
    runs the same parsers, so a spec that passes here fails later only on the device
    itself (no camera, an unreadable file)."""
    kind = source_kind(spec)
    if kind == "picamera":
        from capture.sources.picam import parse_spec as parse_picamera

        parse_picamera(spec, cfg)
    elif kind == "synthetic":
        from capture.sources.synthetic import parse_spec as parse_synthetic

        parse_synthetic(spec, cfg.fps)
    elif kind == "images":
        from capture.sources.images import check_spec as check_images

        check_images(spec)
    elif kind == "video":
        from capture.sources.video import check_spec as check_video

        check_video(spec)


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
    kind = source_kind(spec)
    if kind == "synthetic":
        from capture.sources.synthetic import SyntheticSource

        return SyntheticSource(spec, cfg.lores_width, loop=cfg.loop, fps=cfg.fps, pace=pace)
    if kind == "live":
        from capture.sources.live import LiveSource

        return LiveSource(spec, cfg)
    if kind == "images":
        from capture.sources.images import ImageSource

        return ImageSource(spec, cfg, pace=pace)
    from capture.sources.video import VideoFileSource
    from capture.sources.video import check_spec as check_video

    check_video(spec)
    return VideoFileSource(spec, cfg, pace=pace)


__all__ = ["check_spec", "is_live", "open_source", "source_kind"]
