"""Build components from their config sections; the only place that knows every package."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from capture.frame import FrameSource, StreamInfo
from capture.media import encoder_for
from capture.privacy import PrivacyMask
from capture.recording import Recorder
from capture.sources import is_live, open_source
from config import Config
from device.store import ClipStore
from motion import MotionDetector


def parse_speed(text: str) -> float | None:
    """`realtime` → 1.0, `max` → None (as fast as possible), `N` → N× real time."""
    if text == "max":
        return None
    if text == "realtime":
        return 1.0
    try:
        value = float(text.rstrip("x"))
    except ValueError:
        value = -1.0
    if not 0.01 <= value <= 1000:
        raise ValueError(f"--speed must be realtime, max or a number 0.01..1000, not {text!r}")
    return value


def with_store_path(cfg: Config, store: str | None) -> Config:
    if store is None:
        return cfg
    return dataclasses.replace(cfg, store=dataclasses.replace(cfg.store, path=store))


def open_frames(cfg: Config, spec: str | None, pace: float | None) -> FrameSource:
    """The configured source; with privacy masks, every picture it delivers is masked."""
    privacy = PrivacyMask(cfg.privacy.masks) if cfg.privacy.masks else None
    return open_source(spec or cfg.capture.source, cfg.capture, pace=pace, privacy=privacy)


def make_detector(cfg: Config, lores_height: int, lores_width: int) -> MotionDetector:
    """The detector ignores the privacy masks' areas as well as its own mask."""
    motion = cfg.motion
    if cfg.privacy.masks:
        motion = dataclasses.replace(motion, mask=[*motion.mask, *cfg.privacy.masks])
    return MotionDetector(motion, lores_width, lores_height)


def is_simulated(spec: str) -> bool:
    """A synthetic scene or a recorded file: its clips are never evidence by default."""
    return not is_live(spec)


def make_recorder(cfg: Config, info: StreamInfo, store: ClipStore, *, simulated: bool = False,
                  clock_synced: Callable[[], bool] = lambda: True) -> Recorder:
    return Recorder(cfg.recording, info, store, encoder_for(info, cfg.recording),
                    simulated=simulated, clock_synced=clock_synced)


def open_store(cfg: Config) -> ClipStore:
    return ClipStore(cfg.store)


def store_dir(cfg: Config) -> Path:
    return Path(cfg.store.path).expanduser()
