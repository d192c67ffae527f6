"""The doorbell side on gpiozero's mock pins: debounced presses, the chime pulse, a pin it
cannot open, and a ring recorded by the capture side on a scene without any motion."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from config import CaptureConfig, Config, ConfigError, RecordingConfig, StoreConfig, parse_config
from config.doorbell import DoorbellConfig
from device.daemon.doorbell import DoorbellSide
from device.daemon.notify import Notifier
from device.daemon.supervisor import Supervisor, build_sides
from device.store.view import ClipView
from tests.support import wait_until

BUTTON, CHIME = 17, 27



class Rings:
    def __init__(self) -> None:
        self.walls: list[float] = []

    def ring(self, wall: float) -> None:
        self.walls.append(wall)


def started(cfg: DoorbellConfig) -> tuple[DoorbellSide, Rings]:
    side = DoorbellSide(cfg)
    rings = Rings()
    side.observers.append(rings)
    side.start()
    return side, rings


def ready(side: DoorbellSide, factory: Any) -> Any:
    """The button's mock pin, once the doorbell thread has opened it."""
    wait_until(lambda: side._button is not None or side.fault, 10, "the doorbell's pins")
    assert side.fault is None, side.fault
    return factory.pin(BUTTON)


def test_a_bouncing_press_rings_once_and_the_next_press_rings_again(
        pins: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="doorcam")
    side, rings = started(DoorbellConfig(enabled=True, pin=BUTTON, bounce_ms=30))
    try:
        pin = ready(side, pins)
        assert pin.state is True, "pulled up: released reads high"
        # Contact bounce: four edges within a millisecond or two, then the release.
        for _ in range(3):
            pin.drive_low()
            pin.drive_high()
        pin.drive_low()
        pin.drive_high()
        time.sleep(0.05)  # the visitor's finger, away longer than bounce_ms
        pin.drive_low()
        pin.drive_high()
        # The doorbell thread handles edges in order: once the second press is counted,
        # every bounce before it has been judged.
        wait_until(lambda: side.rings >= 2, 10, "the second press")
        assert side.rings == 2 and len(rings.walls) == 2
        assert side.stats() == {"rings": 2}
        assert side.status().startswith("doorbell: 2 ring(s), last")
        events = [r for r in caplog.records if getattr(r, "DOORCAM_EVENT", None)
                  == "doorbell_ring"]
        assert len(events) == 2 and events[0].threadName == "doorbell"
    finally:
        side.stop()
    assert not side.worker.alive and side.worker.error is None


@pytest.mark.parametrize("active_high", [True, False])
def test_the_chime_relay_closes_for_chime_ms(pins: Any, active_high: bool) -> None:
    side, _ = started(DoorbellConfig(enabled=True, pin=BUTTON, chime_pin=CHIME, chime_ms=120,
                                     chime_active_high=active_high))
    try:
        pin = ready(side, pins)
        chime = pins.pin(CHIME)
        idle = not active_high
        assert chime.state is idle, "the relay is open at start"
        chime.clear_states()
        pin.drive_low()
        wait_until(lambda: len(chime.states) >= 3, 10, "the chime pulse to end")
        pin.drive_high()
        states = [s.state for s in chime.states]
        assert states == [idle, not idle, idle]
        held = chime.states[2].timestamp
        assert 0.120 <= held < 0.120 + 0.25, f"relay closed {held * 1000:.0f} ms"
    finally:
        side.stop()
    assert pins.pin(CHIME).state is (not active_high), "left open at stop"


def test_a_pin_in_use_is_one_line_the_doorbell_only_is_off_and_it_retries(
        pins: Any, caplog: pytest.LogCaptureFixture) -> None:
    from gpiozero import Button

    from device.daemon.workers import Backoff

    other = Button(BUTTON)  # someone else holds the pin
    side = DoorbellSide(DoorbellConfig(enabled=True, pin=BUTTON))
    side.worker.backoff = Backoff(first_s=0.0)  # the wait is tested with a clock
    rings = Rings()
    side.observers.append(rings)
    side.start()
    try:
        wait_until(lambda: side.worker.failures == 1, 10, "the doorbell thread to give up")
        assert side.fault is not None and "GPIO 17" in side.fault and "\n" not in side.fault
        assert side.worker.error is not None and not side.worker.critical
        assert side.status() == f"doorbell off: {side.fault}"
        assert "doorbell failed: " in caplog.text and "restarting in 0 s" in caplog.text
        assert "Traceback" not in caplog.text
        other.close()  # the pin is free again: the next run takes it
        assert side.worker.restart_if_due()
        wait_until(lambda: side._button is not None, 10, "the pins opened on the next run")
        assert side.fault is None and side.status() == "doorbell: no ring yet"
        pin = pins.pin(BUTTON)
        pin.drive_low()
        pin.drive_high()
        wait_until(lambda: len(rings.walls) == 1, 10, "a ring once the pin was free")
    finally:
        side.stop()
        other.close()


def test_a_doorbell_thread_that_fails_reopens_its_pins_and_rings_again(pins: Any) -> None:
    from device.daemon.workers import Backoff

    class FailsOnce:
        def __init__(self) -> None:
            self.calls = 0

        def ring(self, wall: float) -> None:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("observer broke")

    side = DoorbellSide(DoorbellConfig(enabled=True, pin=BUTTON, chime_pin=CHIME,
                                       chime_ms=5000))
    side.worker.backoff = Backoff(first_s=0.0)  # the wait is tested with a clock
    rings = Rings()
    side.observers += [FailsOnce(), rings]
    side.start()
    try:
        pin = ready(side, pins)
        pin.drive_low()
        pin.drive_high()
        wait_until(lambda: side.worker.failures == 1, 10, "the doorbell thread to fail")
        assert side._button is None and pins.pin(CHIME).state is False, "pins closed"
        assert side.worker.restart_if_due()
        pin = ready(side, pins)
        pin.drive_low()
        pin.drive_high()
        wait_until(lambda: len(rings.walls) == 1, 10, "a ring after the restart")
        assert side.rings == 2 and side.worker.error is None and side.fault is None
    finally:
        side.stop()


def test_config_rejects_a_chime_on_the_button_pin_and_reserved_pins() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("[doorbell]\nenabled = true\npin = 17\nchime_pin = 17\n", "d.toml")
    [problem] = err.value.problems
    assert "doorbell.chime_pin" in str(problem) and "d.toml:4" in str(problem)
    with pytest.raises(ConfigError, match=r"0 \(no chime\) or a BCM pin number between 2 and 27"):
        parse_config("[doorbell]\nchime_pin = 1\n", "d.toml")
    with pytest.raises(ConfigError, match=r"doorbell\.pin"):
        parse_config("[doorbell]\npin = 40\n", "d.toml")


def test_a_ring_records_a_clip_without_motion(pins: Any, tmp_path: Path) -> None:
    """The supervisor's sides (capture and doorbell) on an empty porch: no motion at all,
    yet a press records a clip marked "ring" lasting at least record_seconds."""
    store = tmp_path / "store"
    cfg = Config(
        capture=CaptureConfig(source="synthetic:empty?seconds=4&fps=10&size=320x240",
                              loop=True),
        recording=RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.5,
                                  keyframe_interval_seconds=0.5, preset="ultrafast"),
        store=StoreConfig(path=str(store)),
        doorbell=DoorbellConfig(enabled=True, pin=BUTTON, record_seconds=2.0))
    stop, reload = threading.Event(), threading.Event()
    with contextlib.ExitStack() as stack:
        sides = build_sides(cfg, capture=True, pace=4.0, stack=stack)
        supervisor = Supervisor(sides, Notifier())
        supervisor.start(stack)
        assert {w.name for w in supervisor.workers()} == {"camera", "motion", "live",
                                                         "people", "doorbell"}
        capture, doorbell = sides
        pin = ready(doorbell, pins)  # type: ignore[arg-type]
        # Frames flow through a pre-roll longer than its keyframe interval, and the empty
        # porch has stored nothing: whatever is stored next comes from the ring.
        wait_until(lambda: capture.frames_per_second() > 0 and capture._loop is not None
                   and capture._loop.frames > 20, 30, "frames through the motion thread")
        with ClipView(store) as view:
            assert view.list() == []
        pin.drive_low()
        pin.drive_high()

        def stored() -> bool:
            with ClipView(store) as view:
                return bool(view.list())

        wait_until(stored, 60, "the ring's clip")
        stop.set()
        assert supervisor.run(stop, reload) is False
    with ClipView(store) as view:
        [clip] = view.list()
    assert clip.trigger == "ring"
    assert clip.duration >= 2.0, clip.duration
    assert (store / "clips" / f"{clip.id}.mp4").stat().st_size > 0
    print(f"ring clip: {clip.duration:.2f} s, {clip.frames} frames")
