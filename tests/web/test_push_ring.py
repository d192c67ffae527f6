"""A doorbell ring reaches the owner's browser: the daemon's sides (capture and doorbell, on
gpiozero's mock pins and an empty porch) write the ring marker and store a clip marked "ring"
in the store the running web app watches; its push thread sends "Someone rang the doorbell"
through the loopback push service within a second of the press, once (the clip is not
pushed again)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from config import CaptureConfig, Config, RecordingConfig, StoreConfig
from config.doorbell import DoorbellConfig
from device.daemon.notify import Notifier
from device.daemon.supervisor import Supervisor, build_sides
from tests.e2e.test_consent_e2e import doorcam
from tests.support import wait_until
from tests.web.helpers import login
from tests.web.push.browser import Browser
from tests.web.push.pushservice import PushService
from tests.web.test_push_app import device_button, post_json, push_on
from tests.web.world import World


def test_a_ring_clip_is_pushed_without_motion_notifications(
        make_world: Callable[..., World], push_service: PushService, pins: Any) -> None:
    world = make_world(web=push_on(push_service))
    # The template's clips were simulated at full speed: their times run up to 40 s ahead
    # of the clock, and the push thread takes only clips newer than the newest it knows.
    for clip in world.clips():
        done = doorcam("clips", "delete", clip["id"], "--config", str(world.config))
        assert done.returncode == 0, done.stderr
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    attrs = device_button(s, url)
    _, subscription = push_service.subscribe(Browser.new())
    r = post_json(s, url, "/push/subscribe", subscription, attrs["csrf-token"])
    assert r.status_code == 200, r.text
    assert world.clips() == []

    cfg = Config(
        capture=CaptureConfig(source="synthetic:empty?seconds=4&fps=10&size=320x240",
                              loop=True),
        recording=RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.5,
                                  keyframe_interval_seconds=0.5, preset="ultrafast"),
        store=StoreConfig(path=str(world.store)),
        doorbell=DoorbellConfig(enabled=True, pin=17, record_seconds=1.0))
    stop, reload = threading.Event(), threading.Event()
    with contextlib.ExitStack() as stack:
        sides = build_sides(cfg, capture=True, pace=4.0, stack=stack)
        supervisor = Supervisor(sides, Notifier())
        supervisor.start(stack)
        capture, doorbell = sides
        wait_until(lambda: doorbell._button is not None, 10,  # type: ignore[attr-defined]
                   "the doorbell's pins")
        wait_until(lambda: capture._loop is not None  # type: ignore[attr-defined]
                   and capture._loop.frames > 20, 30,  # type: ignore[attr-defined]
                   "frames through the motion thread")
        pressed = time.time()
        pins.pin(17).drive_low()
        pins.pin(17).drive_high()
        assert push_service.wait_for(1, timeout=60), "".join(world.log)
        wait_until(lambda: world.clips() != [], 60, "the ring's clip")
        wait_until(lambda: any("ring, pushed at the press" in line for line in world.log),
                   10, "the push thread seeing the ring's clip")
        stop.set()
        assert supervisor.run(stop, reload) is False
    [delivery] = push_service.deliveries
    assert delivery.message == {
        "title": "doorcam", "body": "Someone rang the doorbell", "url": "/live", "tag": "ring",
        "kind": "ring", "image": "/live/snapshot.jpg",
        "actions": [{"action": "live", "title": "Live", "url": "/live"}]}
    print(f"press to push: {(delivery.at - pressed) * 1000:.0f} ms (make bench measures it)")
    assert push_service.posts == 1, "the ring's clip is not pushed again"
    assert (delivery.headers["topic"], delivery.headers["urgency"]) == ("ring", "high")
    assert push_service.problems == []
    [clip] = world.clips()
    assert clip["trigger"] == "ring", clip
    assert any("push: doorbell ring" in line for line in world.log)
    assert s.get(url + "/clips").status_code == 200
