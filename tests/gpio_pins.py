"""gpiozero's mock pin factory: real gpiozero code (Button, DigitalOutputDevice, callbacks)
on simulated pins, for machines without GPIO. `pin.drive_low()` is a press with pull-up.

The shared `pins` fixture (tests/conftest.py) yields it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def mock_factory() -> Iterator[Any]:
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    old = Device.pin_factory
    factory = MockFactory()
    Device.pin_factory = factory
    try:
        yield factory
    finally:
        factory.close()
        Device.pin_factory = old
