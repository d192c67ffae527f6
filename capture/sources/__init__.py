"""Frame sources: one table (`SOURCES`) from the kind of a spec string to its checker, its
opener and its flags; `open_source()` picks one from a spec."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from capture.frame import FrameSource, SourceError
from capture.privacy import MaskedSource, PrivacyMask
from config.schema import CaptureConfig

_LIVE = re.compile(r"^(camera:|/dev/video\d+$|[a-z][a-z0-9+.-]*://)", re.IGNORECASE)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)


class SourceKind(StrEnum):
    PICAMERA = "picamera"  # picamera:N, the Raspberry Pi camera through picamera2
    SYNTHETIC = "synthetic"  # synthetic:NAME, a generated scene
    LIVE = "live"  # camera:N, /dev/videoN, rtsp://, http://... through OpenCV
    IMAGES = "images"  # a folder of pictures or a printf pattern
    VIDEO = "video"  # a video file


Opener = Callable[[str, CaptureConfig, float | None, PrivacyMask | None], FrameSource]


@dataclass(frozen=True)
class SourceType:
    kind: SourceKind
    live: bool  # a camera or stream: it can fail and come back; paced by itself
    simulated: bool  # its clips are marked simulated (not the camera: never offered to
    #                  agencies unless [uplink] match_simulated)
    check: Callable[[str, CaptureConfig], None]  # every parameter, without opening it
    open: Opener  # pace, privacy mask


def _check_picamera(spec: str, cfg: CaptureConfig) -> None:
    from capture.sources.picam import parse_spec

    parse_spec(spec, cfg)


def _open_picamera(spec: str, cfg: CaptureConfig, pace: float | None,
                   privacy: PrivacyMask | None) -> FrameSource:
    from capture.sources.picam import PiCameraSource

    return PiCameraSource(spec, cfg, privacy=privacy)  # paints the mask in its own buffers


def _check_synthetic(spec: str, cfg: CaptureConfig) -> None:
    from capture.sources.synthetic import parse_spec

    parse_spec(spec, cfg.fps)


def _open_synthetic(spec: str, cfg: CaptureConfig, pace: float | None,
                    privacy: PrivacyMask | None) -> FrameSource:
    from capture.sources.synthetic import SyntheticSource

    return _masked(SyntheticSource(spec, cfg.lores_width, loop=cfg.loop, fps=cfg.fps,
                                   pace=pace), privacy)


def _check_live(spec: str, cfg: CaptureConfig) -> None:
    from capture.sources.live import parse_spec

    parse_spec(spec)


def _open_live(spec: str, cfg: CaptureConfig, pace: float | None,
               privacy: PrivacyMask | None) -> FrameSource:
    from capture.sources.live import LiveSource

    return _masked(LiveSource(spec, cfg), privacy)


def _check_images(spec: str, cfg: CaptureConfig) -> None:
    from capture.sources.images import check_spec

    check_spec(spec)


def _open_images(spec: str, cfg: CaptureConfig, pace: float | None,
                 privacy: PrivacyMask | None) -> FrameSource:
    from capture.sources.images import ImageSource

    return _masked(ImageSource(spec, cfg, pace=pace), privacy)


def _check_video(spec: str, cfg: CaptureConfig) -> None:
    from capture.sources.video import check_spec

    check_spec(spec)


def _open_video(spec: str, cfg: CaptureConfig, pace: float | None,
                privacy: PrivacyMask | None) -> FrameSource:
    from capture.sources.video import VideoFileSource

    _check_video(spec, cfg)
    return _masked(VideoFileSource(spec, cfg, pace=pace), privacy)


def _masked(source: FrameSource, privacy: PrivacyMask | None) -> FrameSource:
    return MaskedSource(source, privacy) if privacy else source


SOURCES: Mapping[SourceKind, SourceType] = {
    SourceKind.PICAMERA: SourceType(SourceKind.PICAMERA, live=True, simulated=False,
                                    check=_check_picamera, open=_open_picamera),
    SourceKind.SYNTHETIC: SourceType(SourceKind.SYNTHETIC, live=False, simulated=True,
                                     check=_check_synthetic, open=_open_synthetic),
    SourceKind.LIVE: SourceType(SourceKind.LIVE, live=True, simulated=False,
                                check=_check_live, open=_open_live),
    SourceKind.IMAGES: SourceType(SourceKind.IMAGES, live=False, simulated=True,
                                  check=_check_images, open=_open_images),
    SourceKind.VIDEO: SourceType(SourceKind.VIDEO, live=False, simulated=True,
                                 check=_check_video, open=_open_video),
}


def _classify(spec: str) -> SourceKind:
    """The kind of `spec` by its form alone; SourceError for an unknown scheme."""
    from capture.sources.images import is_pattern
    from capture.sources.live import LIVE_SCHEMES

    if not spec:
        raise SourceError("no source given")
    if spec.startswith("picamera:"):
        return SourceKind.PICAMERA
    if spec.startswith("synthetic:"):
        return SourceKind.SYNTHETIC
    if _LIVE.match(spec):
        if not spec.lower().startswith(LIVE_SCHEMES):
            raise SourceError(f"{spec}: unknown source scheme (use a file, a folder, "
                              "camera:N, /dev/videoN, rtsp://, http://, picamera:N or "
                              "synthetic:NAME)")
        return SourceKind.LIVE
    path = Path(spec).expanduser()
    if path.is_dir() or is_pattern(spec):
        return SourceKind.IMAGES
    scheme = _SCHEME.match(spec)
    if scheme and not path.exists():
        raise SourceError(f"{spec}: unknown source scheme {scheme.group(1)!r}: use a video "
                          "file, an image folder or pattern, camera:N, /dev/videoN, "
                          "rtsp://..., picamera:N or synthetic:NAME")
    return SourceKind.VIDEO


def source_kind(spec: str) -> SourceKind:
    """The kind of `spec`; SourceError for an unknown scheme or a bad live address."""
    kind = _classify(spec)
    if kind == SourceKind.LIVE:
        from capture.sources.live import parse_spec

        parse_spec(spec)
    return kind


def is_live(spec: str) -> bool:
    """A camera or stream (it can fail and come back), not a recording."""
    try:
        return SOURCES[_classify(spec)].live
    except SourceError:
        return bool(_LIVE.match(spec))  # an unknown scheme://: opening it will say so


def is_simulated(spec: str) -> bool:
    """Clips from `spec` are simulated: a synthetic scene or a file, not a camera."""
    return not is_live(spec)


def check_spec(spec: str, cfg: CaptureConfig) -> None:
    """Everything about `spec` that can be known without opening it: the scheme, every
    parameter, that a file or folder exists. SourceError says what is wrong. The opener
    runs the same parsers, so a spec that passes here fails later only on the device
    itself (no camera, an unreadable file)."""
    SOURCES[source_kind(spec)].check(spec, cfg)


def open_source(spec: str, cfg: CaptureConfig, *, pace: float | None,
                privacy: PrivacyMask | None = None) -> FrameSource:
    """Open a video file, image folder or printf pattern, live device/URL, or synthetic scene.

    pace: None = as fast as possible, 1.0 = real time, N = N times real time (recorded
    and synthetic sources only; a live source runs at its own pace). privacy: areas
    blacked out in every picture the source delivers (the Pi camera paints its own
    buffers; other sources are wrapped and their packets dropped).
    """
    return SOURCES[source_kind(spec)].open(spec, cfg, pace, privacy)


__all__ = ["SOURCES", "SourceKind", "SourceType", "check_spec", "is_live", "is_simulated",
           "open_source", "source_kind"]
