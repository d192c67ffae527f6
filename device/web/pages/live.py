"""/live: the latest picture of the porch and what the service says about the camera."""

from __future__ import annotations

import shutil
import subprocess

from starlette.responses import Response

from device.web.call import Call, page

UNIT = "doorcam.service"


def service_status() -> tuple[str, str] | None:
    """(ActiveState, StatusText) the doorcam service reports to systemd, if readable.

    The daemon's STATUS line carries frames/s, the last event, pending requests and camera
    faults; reading it needs no access to the daemon itself.
    """
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return None
    try:
        done = subprocess.run([systemctl, "show", UNIT, "--property=LoadState",
                               "--property=ActiveState", "--property=StatusText"],
                              capture_output=True, text=True, timeout=3, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    values = dict(line.partition("=")[::2] for line in done.stdout.splitlines())
    if values.get("LoadState") != "loaded" or not values.get("ActiveState"):
        return None
    return values["ActiveState"], values.get("StatusText", "")


@page
def live(call: Call) -> Response:
    with call.ctx.clips() as view:
        newest = view.list(limit=1)
    latest = newest[0] if newest else None
    return call.render("live.html", latest=latest,
                       age=None if latest is None else call.now - latest.end_wall,
                       status=service_status())
