"""The owner reads times in the device's local time with its UTC offset; scripts get epochs
and ISO 8601 (`doorcam clips|requests|audit` under a non-UTC TZ)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from tests.e2e.test_consent_e2e import REPO
from tests.web.world import World

TZ = "IST-5:30"  # POSIX: 5 h 30 min east of UTC, no tz database needed
ZONE = timezone(timedelta(hours=5, minutes=30))
STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+05:30")


def run(world: World, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "device.cli", *args, "--config",
                           str(world.config)], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "TZ": TZ})
    assert done.returncode == 0, done.stderr
    return done.stdout


def shown(ts: float) -> str:
    return datetime.fromtimestamp(ts, ZONE).strftime("%Y-%m-%d %H:%M:%S +05:30")


def test_clips_requests_and_audit_print_local_time_with_the_offset(world: World) -> None:
    rid = world.import_request()
    clips = json.loads(run(world, "clips", "list", "--json"))
    first = clips[0]
    assert first["start_wall_iso"] == datetime.fromtimestamp(
        first["start_wall"], ZONE).isoformat(timespec="seconds")
    assert first["start_wall_iso"].endswith("+05:30")
    table = run(world, "clips", "list")
    assert "START (UTC)" not in table and shown(first["start_wall"]) in table
    detail = run(world, "clips", "show", first["id"])
    assert f"{shown(first['start_wall'])} ({first['start_wall']:.3f})" in detail

    [request] = json.loads(run(world, "requests", "list", "--json"))
    assert request["expires_at_iso"].endswith("+05:30")
    assert all(c["start_iso"].endswith("+05:30") for c in request["clips"])
    listed = run(world, "requests", "list")
    assert f"expires {shown(request['expires_at'])}" in listed and " UTC" not in listed
    text = run(world, "requests", "show", rid)
    assert f"footage from {shown(request['window'][0])}" in text and " UTC" not in text

    audit = run(world, "audit", "show")
    assert STAMP.search(audit) and not re.search(r"\d\d:\d\d:\d\dZ", audit), audit
    entries = [json.loads(line) for line in run(world, "audit", "show", "--json").splitlines()]
    assert all(e["at_iso"].endswith("+05:30") and isinstance(e["at"], float) for e in entries)
