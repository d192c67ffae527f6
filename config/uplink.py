"""The [device] and [uplink] config sections: who this device is and whom it trusts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from config.fields import setting

# KID:ED25519 (decides only) or KID:ED25519:X25519 (also reads the device's sealed view).
_KEY = re.compile(r"[A-Za-z0-9._-]{1,64}:[A-Za-z0-9_-]{43}(:[A-Za-z0-9_-]{43})?")
_DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _device_id(value: Any) -> str | None:
    return None if _DEVICE_ID.fullmatch(value) else (
        "1-64 characters from A-Z a-z 0-9 . _ -")


def _owner_keys(value: Any) -> str | None:
    allowed = ('a list of "KID:SIGNING_KEY:ENCRYPTION_KEY" (or "KID:SIGNING_KEY") strings '
               '(each key: 43 base64url characters)')
    if not isinstance(value, list):
        return allowed
    return None if all(isinstance(v, str) and _KEY.fullmatch(v) for v in value) else allowed


@dataclass(frozen=True)
class DeviceConfig:
    """This device: its id and where it is (used only to match requests, never sent)."""

    id: str = setting("doorcam", "Device id: names its MQTT topics and signs its evidence.",
                      check=_device_id, restart=True)
    latitude: float = setting(0.0, "Where the camera is, in degrees; requests match only "
                              "when this point lies inside their area.", min=-90.0, max=90.0)
    longitude: float = setting(0.0, "See latitude.", min=-180.0, max=180.0)


@dataclass(frozen=True)
class UplinkConfig:
    """Agency requests: whether to listen, which registry to trust, who the owner is."""

    enabled: bool = setting(False, "Listen for agency requests over MQTT (needs [mqtt], "
                            "a registry and device.latitude/longitude).", restart=True)
    registry_file: str = setting(
        "", "Signed agency registry (JSON); empty = <store>/registry.json.", restart=True)
    registry_key: str = setting(
        "", "Public key (43 base64url characters) that signs the registry you trust.",
        restart=True)
    owner_keys: list[str] = setting(
        [], 'Owner keys, as "KID:SIGNING_KEY:ENCRYPTION_KEY" (the line `doorcam owner keygen` '
        'prints): the owner may decide over the home broker ([owner_mqtt]) and reads the '
        'device\'s sealed view of its requests. The older "KID:SIGNING_KEY" form may still '
        'decide but is sent nothing: such an owner sees no request remotely.',
        check=_owner_keys)
    device_key_file: str = setting(
        "", "The device's Ed25519 signing key (created if missing, mode 0600); "
        "empty = <store>/device_key.pem.", restart=True)
    clock_skew_s: int = setting(300, "Tolerated clock difference with agencies and owner.",
                                min=0, max=3600)
    match_simulated: bool = setting(
        False, "Also match clips from a synthetic scene or a video file (simulated) to agency "
        "requests, for demos and tests; a device never needs it.", restart=True)
