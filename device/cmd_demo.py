"""`doorcam demo` (what `make demo` runs): the whole story on this machine, no hardware.

1. Motion: the simulation on a synthetic porch scene stores clips.
2. Consent: a sample agency publishes a signed request over a private mosquitto on
   loopback; the daemon matches it; the owner is shown it; the owner accepts two clips with
   one command; exactly those arrive at a local receiver, which verifies the signed manifest.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

MARKER = ".doorcam-demo"


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="the whole story on a synthetic scene (what make demo runs)")
    p.add_argument("--dir", default=".demo", help="working folder, recreated (default .demo)")
    p.add_argument("--speed", default="4", help="simulation speed (default 4x real time)")
    p.set_defaults(run=run)


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def run(args: argparse.Namespace) -> int:
    from device.cli import main

    root = Path(args.dir).resolve()
    if root.exists():
        if not (root / MARKER).exists():
            from device.errors import UserError

            raise UserError(f"{root} exists and is not a demo folder; pick another --dir")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).touch()
    store = root / "store"
    say("Part 1: motion detection and clips (synthetic porch, no camera needed)")
    code = main(["simulate", "synthetic:porch?seconds=40", "--speed", args.speed,
                 "--store", str(store), "--events-jsonl", str(root / "events.jsonl")])
    if code != 0:
        return code
    from device.localbroker import mosquitto_path

    if mosquitto_path() is None:
        say("Part 2 skipped: it needs mosquitto (sudo apt install mosquitto)")
        return 0
    from device.demo_story import Story

    with Story(root, store) as story:
        return story.tell(main)


def stop_process(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"demo: timed out waiting for {what}")
        time.sleep(0.1)


def show_json(path: Path) -> str:
    return json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=2)
