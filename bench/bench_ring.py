"""A doorbell ring to the owner's push service, one run: seconds from the button press to the
push service receiving the encrypted "Someone rang the doorbell", against the time the
ring's clip reaches the clip index (what a push that waited for the clip would take).

Usage: .venv/bin/python bench/bench_ring.py [--presses N] [--out results.json]

The daemon is real: the supervisor's sides (`build_sides`: camera and motion threads on a
synthetic empty porch paced in real time, and the doorbell thread) run in this process with
gpiozero's mock pins (tests/gpio_pins.py) standing in for the button, the one part of the
hardware that is absent. The web app runs as the service runs it (`python3 -m device.web`,
TLS, [push] on, tests/web/world.py) with one subscribed browser at the tests' loopback push
service (tests/web/push/pushservice.py), which checks VAPID and decrypts each push as the
browser would, and is named in the config's [push] other_services. Each press is a
drive_low/drive_high of the mock pin; its time is taken just before. Figures are from one
run on a shared machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import CaptureConfig, Config, RecordingConfig, StoreConfig  # noqa: E402
from config.doorbell import DoorbellConfig  # noqa: E402
from device.daemon.notify import Notifier  # noqa: E402
from device.daemon.supervisor import Supervisor, build_sides  # noqa: E402
from device.store.view import ClipView  # noqa: E402
from tests.e2e.test_consent_e2e import doorcam  # noqa: E402
from tests.gpio_pins import mock_factory  # noqa: E402
from tests.web.helpers import login  # noqa: E402
from tests.web.push.pushservice import PushService  # noqa: E402
from tests.web.test_push_app import post_json, push_on  # noqa: E402
from tests.web.world import World  # noqa: E402

PIN = 17
TARGET_S = 1.0  # press to push service, on loopback
SPACING_S = 3.0  # a ring records 1 s plus the post-roll: each press its own clip


def _clips(store: Path) -> int:
    with ClipView(store) as view:
        return len(view.list())


def run(presses: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        template = tmp / "template"
        done = doorcam("simulate", "synthetic:porch?seconds=12&size=320x240", "--store",
                       str(template), "--quiet")
        if done.returncode != 0:
            raise SystemExit(f"simulate failed: {done.stderr.strip()}")
        service = PushService().start()
        world = World(tmp / "world", template, web=push_on(service))
        pins = mock_factory()
        factory = next(pins)
        try:
            for clip in world.clips():  # an empty store: every clip from now on is a ring's
                doorcam("clips", "delete", clip["id"], "--config", str(world.config))
            world.add_user()
            url = world.start()
            s = world.session()
            token = login(s, url)
            _, sub = service.subscribe()
            r = post_json(s, url, "/push/subscribe", sub, token)
            if r.status_code != 200:
                raise SystemExit(f"subscribing failed: HTTP {r.status_code} {r.text[:200]}")
            push_s, clip_s = press_all(world, service, factory, presses)
            problems = list(service.problems)
        finally:
            with contextlib.suppress(StopIteration):
                next(pins)
            world.stop()
            service.stop()
    return {"presses": presses, "push_s": push_s, "push_s_median": statistics.median(push_s),
            "push_s_max": max(push_s), "clip_s": clip_s,
            "clip_s_median": statistics.median(clip_s),
            "push_over_clip": statistics.median(push_s) / statistics.median(clip_s),
            "push_problems": problems, "target_s": TARGET_S}


def press_all(world: World, service: PushService, factory: Any,
              presses: int) -> tuple[list[float], list[float]]:
    cfg = Config(
        capture=CaptureConfig(source="synthetic:empty?seconds=4&fps=10&size=320x240",
                              loop=True),
        recording=RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.5,
                                  keyframe_interval_seconds=0.5, preset="ultrafast"),
        store=StoreConfig(path=str(world.store)),
        doorbell=DoorbellConfig(enabled=True, pin=PIN, record_seconds=1.0))
    stop, reload = threading.Event(), threading.Event()
    push_s: list[float] = []
    clip_s: list[float] = []
    with contextlib.ExitStack() as stack:
        sides = build_sides(cfg, capture=True, pace=1.0, stack=stack)
        supervisor = Supervisor(sides, Notifier())
        supervisor.start(stack)
        capture, doorbell = sides
        _until(lambda: doorbell._button is not None  # type: ignore[attr-defined]
               and capture._loop is not None  # type: ignore[attr-defined]
               and capture._loop.frames > 20, 60, "the daemon's pins and frames")  # type: ignore[attr-defined]
        for _ in range(presses):
            delivered, clips = len(service.deliveries), _clips(world.store)
            pressed = time.time()
            factory.pin(PIN).drive_low()
            factory.pin(PIN).drive_high()
            if not service.wait_for(delivered + 1, timeout=30):
                raise SystemExit("no push arrived: " + "".join(world.log[-5:]))
            push_s.append(service.deliveries[delivered].at - pressed)
            _until(lambda n=clips: _clips(world.store) > n, 60, "the ring's clip")
            clip_s.append(time.time() - pressed)
            time.sleep(max(0.0, pressed + SPACING_S - time.time()))
        stop.set()
        supervisor.run(stop, reload)
    return push_s, clip_s


def _until(ok: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.01)


def report(res: dict[str, Any]) -> None:
    print(f"doorbell ring -> push, {res['presses']} presses, loopback push service")
    print(f"press -> push service   {res['push_s_median'] * 1000:7.0f} ms median, "
          f"{res['push_s_max'] * 1000:.0f} ms max (target <= {res['target_s'] * 1000:.0f})")
    print(f"press -> clip in index  {res['clip_s_median'] * 1000:7.0f} ms median "
          f"(push / clip = {res['push_over_clip']:.2f})")
    if res["push_problems"]:
        print(f"push service problems: {res['push_problems']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--presses", type=int, default=10)
    parser.add_argument("--out")
    args = parser.parse_args()
    res = run(args.presses)
    res["load_average"] = os.getloadavg()
    report(res)
    print(f"load average {res['load_average'][0]:.1f} on {os.cpu_count()} cores")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))
    if res["push_s_max"] > TARGET_S or res["push_problems"]:
        print("missed: press -> push over 1 s" if res["push_s_max"] > TARGET_S
              else "push problems", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
