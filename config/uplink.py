"""The [device] and [uplink] config sections: who this device is and whom it trusts."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.fields import setting

# KID:ED25519 (decides only) or KID:ED25519:X25519 (also reads the device's sealed view).
_KEY = re.compile(r"[A-Za-z0-9._-]{1,64}:[A-Za-z0-9_-]{43}(:[A-Za-z0-9_-]{43})?")
_DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_AGENCY_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


# Read in this order; the first that holds an id wins. pi-gen images empty /etc/machine-id
# so that systemd makes a new one at first boot: each card gets its own.
MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/proc/device-tree/serial-number"),
                    Path("/proc/cpuinfo"))
_CPU_SERIAL = re.compile(r"^Serial\s*:\s*([0-9A-Fa-f]+)\s*$", re.MULTILINE)


def _device_id(value: Any) -> str | None:
    return None if value == "" or _DEVICE_ID.fullmatch(value) else (
        "empty (derived from this machine) or 1-64 characters from A-Z a-z 0-9 . _ -")


def machine_id(files: tuple[Path, ...] = MACHINE_ID_FILES) -> str | None:
    """This machine's own id: systemd's machine id, else the Pi's serial number."""
    for path in files:
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        if path.name == "cpuinfo":
            m = _CPU_SERIAL.search(text)
            found = m.group(1) if m else ""
        else:
            found = text.strip().strip("\0").strip()
        if found.strip("0"):  # an all-zero serial is a board without one
            return found
    return None


def default_device_id(files: tuple[Path, ...] = MACHINE_ID_FILES) -> str:
    """`doorcam-` and 8 hex digits of a hash of the machine's id (the id itself appears in
    MQTT topics, and the machine id should not be published); `doorcam` without one."""
    raw = machine_id(files)
    if raw is None:
        return "doorcam"
    return "doorcam-" + hashlib.sha256(b"doorcam device id\0" + raw.encode()).hexdigest()[:8]


def _agency_ids(value: Any) -> str | None:
    ok = isinstance(value, list) and all(
        isinstance(v, str) and _AGENCY_ID.fullmatch(v) for v in value)
    return None if ok else "a list of agency ids (as the registry spells them: a-z 0-9 . _ -)"


def _incident_types(value: Any) -> str | None:
    ok = isinstance(value, list) and all(
        isinstance(v, str) and 0 < len(v) <= 64 and v.isprintable() for v in value)
    return None if ok else "a list of incident types (1-64 printable characters each)"


def _owner_keys(value: Any) -> str | None:
    allowed = ('a list of "KID:SIGNING_KEY:ENCRYPTION_KEY" (or "KID:SIGNING_KEY") strings '
               '(each key: 43 base64url characters)')
    if not isinstance(value, list):
        return allowed
    return None if all(isinstance(v, str) and _KEY.fullmatch(v) for v in value) else allowed


@dataclass(frozen=True)
class OwnerKey:
    """One entry of `[uplink] owner_keys`, split (the text is checked by `_owner_keys`)."""

    kid: str
    signing_key: str  # Ed25519 public key, base64url: verifies the owner's decisions
    encryption_key: str | None  # X25519 public key: the device seals its view to it; None
    #                             for the older "KID:SIGNING_KEY" form (sent nothing)

    @classmethod
    def parse(cls, text: str) -> OwnerKey:
        kid, signing, *enc = text.split(":")
        return cls(kid, signing, enc[0] if enc else None)


@dataclass(frozen=True)
class DeviceConfig:
    """This device: its id and where it is (used only to match requests, never sent)."""

    id: str = setting(
        "", "Device id: names its MQTT topics and signs its evidence. Empty = 'doorcam-' and "
        "8 hex digits derived from this machine (/etc/machine-id, else the Pi's serial "
        "number), so no two devices share one; `doorcam config show` prints it.",
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
    registry_warn_days: int = setting(
        14, "Warn (log, status line, Home Assistant stats, `doorcam config check`) this many "
        "days before the registry or an agency key in it expires; 0 = only once expired.",
        min=0, max=365)
    clock_skew_s: int = setting(300, "Tolerated clock difference with agencies and owner.",
                                min=0, max=3600)
    match_simulated: bool = setting(
        False, "Also match clips from a synthetic scene or a video file (simulated) to agency "
        "requests, for demos and tests; a device never needs it.", restart=True)
    # The owner's own policy: only ever tighter than the protocol's limits (15 min - 12 h,
    # 0.025 - 0.5 sq mi), so each setting's range is the protocol's.
    min_window_minutes: int = setting(
        15, "Shortest request window you accept, in minutes (the protocol allows 15 and "
        "more); requests outside your limits are kept as not matching and never shown.",
        min=15, max=720)
    max_window_minutes: int = setting(
        720, "Longest request window you accept, in minutes (the protocol allows up to 720).",
        min=15, max=720)
    min_area_sq_mi: float = setting(
        0.025, "Smallest request area you accept, in square miles (the protocol allows 0.025 "
        "and more): a larger minimum keeps requests from singling out your street.",
        min=0.025, max=0.5)
    max_area_sq_mi: float = setting(
        0.5, "Largest request area you accept, in square miles (the protocol allows up to "
        "0.5).", min=0.025, max=0.5)
    accept_agencies: list[str] = setting(
        [], "Agency ids whose requests you accept; empty = every agency the registry lists.",
        check=_agency_ids)
    accept_incident_types: list[str] = setting(
        [], "Incident types you accept (e.g. \"burglary\"), compared ignoring case; empty = "
        "every type.", check=_incident_types)

    @property
    def owners(self) -> tuple[OwnerKey, ...]:
        """`owner_keys`, each split into its key id and keys."""
        return tuple(OwnerKey.parse(entry) for entry in self.owner_keys)
