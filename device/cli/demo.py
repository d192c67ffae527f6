"""`doorcam demo` (what `make demo` runs): the whole story on this machine, no hardware.

1. Motion: the simulation on a synthetic porch scene stores clips.
2. Consent: a sample agency publishes a signed request over a private mosquitto on
   loopback; the daemon matches it; the owner is shown it; the owner accepts two clips with
   one command; exactly those arrive at a local receiver, which verifies the signed manifest.
3. Run from a terminal, the owner's app stays up (its address and one-time login printed
   last) until Ctrl-C; without a terminal (CI, tests) the demo ends with the story.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

MARKER = ".doorcam-demo"


def add_parser(sub: Any) -> None:
    p = sub.add_parser("demo", help="the whole story on a synthetic scene (what make demo runs)")
    p.add_argument("--dir", default=".demo", help="working folder, recreated (default .demo)")
    p.add_argument("--speed", default="4", help="simulation speed (default 4x real time)")
    p.add_argument("--exit", action="store_true",
                   help="end when the story ends even in a terminal (without a terminal it "
                        "always does; in one, the owner's app keeps running until Ctrl-C)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from device.cli.demo_story import Story, doorcam, say  # the agency kit loads only here

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
    code = doorcam(["simulate", "synthetic:porch?seconds=40", "--speed", args.speed,
                    "--store", str(store), "--events-jsonl", str(root / "events.jsonl")])
    if code != 0:
        return code
    from device.cli.localbroker import mosquitto_path

    if mosquitto_path() is None:
        say("Part 2 skipped: it needs mosquitto (sudo apt install mosquitto)")
        return 0
    with Story(root, store) as story:
        code = story.tell(doorcam)
        if code == 0 and not args.exit and interactive():
            story.stay()
        return code


def interactive() -> bool:
    """Run from a terminal (a person watching), not by CI or a test."""
    return sys.stdin.isatty() and sys.stdout.isatty()
