"""The [homeassistant] config section: status and discovery for Home Assistant over MQTT
(on the home broker of [owner_mqtt])."""

from __future__ import annotations

from dataclasses import dataclass

from config.fields import setting


@dataclass(frozen=True)
class HomeAssistantConfig:
    """Device status on the home broker ([owner_mqtt]), with Home Assistant MQTT discovery."""

    enabled: bool = setting(False, "Publish motion, last event, stats and discovery config "
                            "to the home broker (needs [owner_mqtt] enabled; never sent to "
                            "the agency broker).", restart=True)
    discovery_prefix: str = setting("homeassistant", "Home Assistant's discovery prefix.",
                                    restart=True)
    snapshots: bool = setting(False, "Also publish a small JPEG of each event's peak frame "
                              "(it leaves the device to your broker; off by default).")
    stats_interval_s: int = setting(60, "Seconds between stats messages.", min=5, max=3600)
    camera: bool = setting(False, "Also publish a camera entity showing the door now: the live "
                           "view's current snapshot ([live] on) at each ring, motion start and "
                           "person found, and every `camera_interval_s` (it leaves the device "
                           "to your broker; off by default).", restart=True)
    camera_interval_s: int = setting(10, "Seconds between camera pictures when nothing happens "
                                     "(a ring, motion or a person sends one at once).", min=2,
                                     max=3600)
    camera_max_kb: int = setting(512, "Largest camera picture sent, in KiB (a larger snapshot is "
                                 "skipped; lower [live] snapshot_width to fit).", min=16,
                                 max=8192)
