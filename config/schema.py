"""The config sections. Each component receives only its own section."""

from __future__ import annotations

from dataclasses import dataclass

from config.doorbell import DoorbellConfig
from config.fields import odd_or_zero, polygons, setting
from config.homeassistant import HomeAssistantConfig
from config.live import LiveConfig
from config.mqtt import MqttConfig
from config.owner_mqtt import OwnerMqttConfig
from config.people import PeopleConfig
from config.privacy import PrivacyConfig
from config.push import PushConfig
from config.uplink import DeviceConfig, UplinkConfig
from config.upload import UploadConfig
from config.web import WebConfig


@dataclass(frozen=True)
class CaptureConfig:
    """Where frames come from and how the analysis ("lores") image is made."""

    source: str = setting(
        "picamera:0?size=1920x1080&fps=25&lores=320x240",
        "Frame source of `doorcam run`: the Pi camera ('picamera:N?size=WxH&fps=&lores=WxH'), "
        "a video file, an image folder or printf pattern (in%06d.jpg), an OpenCV device/URL "
        "as 'camera:0' or 'rtsp://…', or 'synthetic:NAME'. Clips from a file or a synthetic "
        "scene are marked simulated. `doorcam simulate` without a SOURCE uses this when it "
        "is a file or a synthetic scene, else synthetic:porch.",
        restart=True,
    )
    lores_width: int = setting(
        320, "Width of the grayscale analysis image; height follows the aspect ratio.",
        min=64, max=1280, restart=True,
    )
    loop: bool = setting(False, "Start a recorded source again when it ends.")
    fps: float = setting(
        0.0, "Frame rate for sources that do not carry one (image folders); 0 = 25.",
        min=0.0, max=240.0,
    )


@dataclass(frozen=True)
class MotionConfig:
    """The motion detector and its guards."""

    blur: int = setting(5, "Gaussian blur kernel on the lores image (odd, 0 = off).",
                        min=0, max=31, check=odd_or_zero)
    background_alpha: float = setting(
        0.05, "Running-average background learning rate per frame.", min=0.001, max=1.0)
    threshold: int = setting(
        25, "Per-pixel difference (0-255) from the background that counts as change.",
        min=1, max=254)
    dark_threshold: int = setting(
        10, "Lowest per-pixel threshold, for dim pictures (the IR night view): below a mean "
        "brightness of 110 `threshold` falls in proportion to it (the same contrast gives "
        "smaller differences), down to this floor, which must stay above the sensor noise.",
        min=1, max=254)
    dilate: int = setting(2, "Dilation passes (3x3) that join nearby changed pixels.",
                          min=0, max=10)
    min_area: float = setting(
        0.002, "Smallest moving blob, as a fraction of the analysed area.", min=0.0, max=1.0)
    mask: list[list[list[float]]] = setting(
        [], "Polygons ignored entirely (clock overlays, a busy street), in 0..1 frame "
        "fractions: [[[x, y], [x, y], [x, y]], ...].", check=polygons)
    zones: list[list[list[float]]] = setting(
        [], "If set, only motion inside these polygons counts (same form as mask).",
        check=polygons)
    global_change: float = setting(
        0.5, "Fraction of the analysed area changing at once that is treated as a "
        "lighting change (exposure, clouds, IR) unless it has the shape of an object.",
        min=0.05, max=1.0)
    persistence: int = setting(3, "Frames with motion, out of `persistence_window`, "
                               "before an event starts.", min=1, max=100)
    persistence_window: int = setting(5, "Window (frames) for `persistence`.", min=1, max=100)
    quiet_seconds: float = setting(
        1.5, "Seconds without motion before an event ends.", min=0.0, max=600.0)
    absorb_seconds: float = setting(
        20.0, "An object that stops moving becomes background after this many seconds.",
        min=1.0, max=3600.0)


@dataclass(frozen=True)
class RecordingConfig:
    """Clips: pre-roll, post-roll, length limits and encoding."""

    pre_roll_seconds: float = setting(
        3.0, "Seconds of video kept before motion starts (held as encoded packets).",
        min=0.1, max=60.0)
    post_roll_seconds: float = setting(
        3.0, "Seconds recorded after the last motion; an event starting within it "
        "extends the same clip (close events are merged).", min=0.0, max=600.0)
    max_clip_seconds: float = setting(
        120.0, "Longest clip; longer motion continues in a new clip.", min=2.0, max=3600.0)
    keyframe_interval_seconds: float = setting(
        1.0, "Keyframe interval of the H.264 encoder; must fit in the pre-roll.",
        min=0.1, max=10.0)
    preroll_max_mb: int = setting(
        64, "Memory cap for the pre-roll packet buffer (oldest packets go first).",
        min=1, max=1024)
    crf: int = setting(26, "H.264 quality (lower is better, larger).", min=0, max=51)
    preset: str = setting(
        "veryfast", "libx264 speed preset when re-encoding.",
        choices=("ultrafast", "superfast", "veryfast", "faster", "fast", "medium"))
    thumbnail_width: int = setting(
        320, "Width of the peak-frame JPEG stored with each clip.", min=32, max=1920)
    sign: bool = setting(
        True, "Sign the video as it is recorded (ONVIF Media Signing: a signature in the "
        "stream for every GOP, with a key kept beside the device key), so an agency can "
        "check that no frame was altered, removed or reordered. Off: an agency can check "
        "only the signed manifest of its request (each clip's SHA-256), not each frame.")


@dataclass(frozen=True)
class StoreConfig:
    """The on-device clip store and its retention rules."""

    path: str = setting(
        "~/.local/share/doorcam/store", "Directory holding clips and the SQLite index. "
        "Run by systemd, the service may write only in /var/lib/doorcam (the installed "
        "config's path): keep the store there, or mount a disk there.", restart=True)
    max_age_days: float = setting(
        30.0, "Clips older than this are deleted (0 = keep forever).", min=0.0, max=3650.0)
    max_size_mb: int = setting(
        4096, "Total size of all clips; oldest go first (0 = no limit).", min=0, max=10**7)
    min_free_mb: int = setting(
        512, "Free space kept on the store's disk; oldest clips go first (0 = off).",
        min=0, max=10**7)


@dataclass(frozen=True)
class Config:
    """The whole file. Only `device/` sees this; components get one section each."""

    capture: CaptureConfig = CaptureConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    motion: MotionConfig = MotionConfig()
    recording: RecordingConfig = RecordingConfig()
    store: StoreConfig = StoreConfig()
    device: DeviceConfig = DeviceConfig()
    uplink: UplinkConfig = UplinkConfig()
    mqtt: MqttConfig = MqttConfig()
    owner_mqtt: OwnerMqttConfig = OwnerMqttConfig()
    upload: UploadConfig = UploadConfig()
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()
    web: WebConfig = WebConfig()
    push: PushConfig = PushConfig()
    doorbell: DoorbellConfig = DoorbellConfig()
    live: LiveConfig = LiveConfig()
    people: PeopleConfig = PeopleConfig()


SECTIONS: dict[str, type] = {
    "capture": CaptureConfig,
    "privacy": PrivacyConfig,
    "motion": MotionConfig,
    "recording": RecordingConfig,
    "store": StoreConfig,
    "device": DeviceConfig,
    "uplink": UplinkConfig,
    "mqtt": MqttConfig,
    "owner_mqtt": OwnerMqttConfig,
    "upload": UploadConfig,
    "homeassistant": HomeAssistantConfig,
    "web": WebConfig,
    "push": PushConfig,
    "doorbell": DoorbellConfig,
    "live": LiveConfig,
    "people": PeopleConfig,
}
