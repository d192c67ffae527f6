"""Build components from their config sections; the only place that knows every package."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from capture.frame import FrameSource, StreamInfo
from capture.live import LiveDirError, LiveFeed, open_live
from capture.media import encoder_for
from capture.privacy import PrivacyMask
from capture.recording import Recorder
from capture.recording.sink import ClipClock
from capture.sources import open_source
from config import Config
from device.store import ClipStore
from device.wiring.checks import watched_area_problem
from device.wiring.paths import DevicePaths, live_dir
from device.wiring.people import PeopleStage, Runner
from motion import MotionDetector, MotionError
from motion.people import PeopleDetector, make_people_detector
from uplink.desk.keys import (
    device_enc_key_path,
    load_or_create_device_enc_key,
    load_or_create_device_key,
)
from uplink.desk.media_key import DeviceMediaSigner, load_or_create_media_signer

log = logging.getLogger(__name__)


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
    """The detector ignores the privacy masks' areas as well as its own mask. MotionError
    names the setting when the masks leave nothing of this picture size to watch."""
    found = watched_area_problem(cfg, lores_width, lores_height)
    if found:
        section, key, why = found
        raise MotionError(f"{section}.{key} {why}")
    motion = cfg.motion
    if cfg.privacy.masks:
        motion = dataclasses.replace(motion, mask=[*motion.mask, *cfg.privacy.masks])
    return MotionDetector(motion, lores_width, lores_height)


def people_model(cfg: Config) -> Path:
    """Where the yolox detector's model is: people.model, else in the store's folder."""
    if cfg.people.model:
        return Path(cfg.people.model).expanduser()
    return Path(cfg.store.path).expanduser() / "models" / "yolox_nano.onnx"


def make_people_detector_for(cfg: Config) -> PeopleDetector:
    return make_people_detector(cfg.people, people_model(cfg))


def make_people_stage(cfg: Config, runner: Callable[[PeopleDetector], Runner]
                      ) -> PeopleStage | None:
    """The people stage with its detector run by `runner`; None when people.enabled is off.
    PeopleError when the detector cannot be built (the yolox model not installed)."""
    if not cfg.people.enabled:
        return None
    return PeopleStage(cfg.people, runner(make_people_detector_for(cfg)))


def make_recorder(cfg: Config, info: StreamInfo, store: ClipStore, *, simulated: bool = False,
                  clock: Callable[[], ClipClock] = ClipClock,
                  live: LiveFeed | None = None) -> Recorder:
    signer = make_media_signer(cfg) if cfg.recording.sign else None
    return Recorder(cfg.recording, info, store, encoder_for(info, cfg.recording),
                    simulated=simulated, clock=clock, signer=signer, tap=live)


def make_live(cfg: Config) -> LiveFeed | None:
    """The live view's feed into its directory on tmpfs; None (logged) when `[live]` is off
    or the directory cannot be used: the camera records all the same."""
    if not cfg.live.enabled:
        return None
    where = live_dir(cfg)
    try:
        feed = open_live(where, cfg.live)
    except LiveDirError as e:
        log.error("live view off: %s", e)
        return None
    log.info("live view published in %s", where)
    return feed


def ensure_device_keys(cfg: Config) -> None:
    """Make the device's keys (signing, owner-channel encryption, video signing) now, before
    the daemon reports READY: the web app's unit starts after that and hides exactly the
    key files that exist then, so none may appear later."""
    path = DevicePaths.of(cfg).device_key
    try:
        load_or_create_device_enc_key(device_enc_key_path(path))
    except (OSError, ValueError) as e:
        log.warning("cannot use the owner-channel key beside %s: %s", path, e)
    # Even with recording.sign off: turning it on by a reload must find the key there.
    make_media_signer(cfg)


def make_media_signer(cfg: Config) -> DeviceMediaSigner | None:
    """The video signing key (ONVIF Media Signing), beside the device key; None, with a
    warning, when it cannot be read or created: the camera then records unsigned video
    rather than none (evidence manifests still sign each clip's SHA-256)."""
    path = DevicePaths.of(cfg).device_key
    try:
        device_key, _ = load_or_create_device_key(path)
        return load_or_create_media_signer(device_key, path, cfg.device.id)
    except (OSError, ValueError) as e:
        log.warning("video signing off: cannot use the signing key beside %s: %s", path, e)
        return None


def open_store(cfg: Config) -> ClipStore:
    return ClipStore(cfg.store)

