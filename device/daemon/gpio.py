"""The doorbell's GPIO pins through gpiozero, which only this module imports (and only when
[doorbell] is enabled). gpiozero picks the pin library itself (lgpio on current Pi OS); tests
set its mock pin factory."""

from __future__ import annotations

from collections.abc import Callable

from gpiozero import Button, DigitalOutputDevice


class GpioError(Exception):
    """A pin could not be opened; the message is one line for the owner."""


def _why(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class ButtonPin:
    """A push button; `on_edge(pressed)` runs on gpiozero's callback thread for each edge."""

    def __init__(self, pin: int, *, pull_up: bool, bounce_s: float,
                 on_edge: Callable[[bool], None]) -> None:
        try:
            self._button = Button(pin, pull_up=pull_up, bounce_time=bounce_s)
        except Exception as exc:  # each pin library raises its own types
            raise GpioError(f"cannot watch the doorbell button on GPIO {pin}: {_why(exc)}"
                            ) from None
        self._button.when_pressed = lambda: on_edge(True)
        self._button.when_released = lambda: on_edge(False)

    def close(self) -> None:
        self._button.close()


class RelayPin:
    """An output driving a relay; off when opened and when closed."""

    def __init__(self, pin: int, *, active_high: bool) -> None:
        try:
            self._out = DigitalOutputDevice(pin, active_high=active_high, initial_value=False)
        except Exception as exc:  # each pin library raises its own types
            raise GpioError(f"cannot drive the chime relay on GPIO {pin}: {_why(exc)}"
                            ) from None

    def on(self) -> None:
        self._out.on()

    def off(self) -> None:
        self._out.off()

    def close(self) -> None:
        self._out.off()
        self._out.close()
