"""The web app's process stays small: importing it loads none of the media stack (the
store's crash recovery, say, must load PyAV only when it has a clip to recover)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_web_app_loads_no_media_stack() -> None:
    # device.web.notify and device.web.push are what the app loads with [push] on.
    code = ("import sys, device.web.app, device.web.command, device.store, device.web.notify, "
            "device.web.push; "
            "print(sorted(m for m in ('numpy', 'cv2', 'av', 'paho', 'requests') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout
