"""The [doorbell] config section: a push button on a GPIO pin, and an optional chime relay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.fields import setting

# BCM numbers of the Pi's 40-pin header; GPIO 0 and 1 are reserved for HAT EEPROMs.
FIRST_PIN, LAST_PIN = 2, 27


def _chime_pin(value: Any) -> str | None:
    if value == 0 or FIRST_PIN <= value <= LAST_PIN:
        return None
    return f"0 (no chime) or a BCM pin number between {FIRST_PIN} and {LAST_PIN}"


@dataclass(frozen=True)
class DoorbellConfig:
    """A doorbell button on a GPIO pin; each press is recorded, notified and can ring a chime."""

    enabled: bool = setting(False, "Watch a push button on a GPIO pin (Raspberry Pi).",
                            restart=True)
    pin: int = setting(17, "BCM number of the GPIO pin the button is wired to (header pin "
                       "11 is GPIO 17).", min=FIRST_PIN, max=LAST_PIN, restart=True)
    pull_up: bool = setting(
        True, "Use the pin's internal pull-up and read a press as the pin going low (button "
        "between the pin and ground). false: pull-down, button between the pin and 3.3 V.",
        restart=True)
    bounce_ms: int = setting(
        50, "Debounce: edges this soon after the previous one are contact bounce, not a "
        "new press.", min=1, max=1000, restart=True)
    chime_pin: int = setting(
        0, "BCM number of the GPIO pin driving a chime relay, pulsed on each ring; 0 = no "
        "chime.", check=_chime_pin, restart=True)
    chime_active_high: bool = setting(
        True, "The relay closes when its pin is high; false for the many relay boards "
        "that close on low.", restart=True)
    chime_ms: int = setting(300, "How long the chime relay is closed per ring.",
                            min=10, max=5000, restart=True)
    record_seconds: float = setting(
        10.0, "A ring records at least this long (after the pre-roll), even without motion.",
        min=1.0, max=600.0, restart=True)
