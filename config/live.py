"""The [live] config section: live video and the current snapshot for the owner's app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config.fields import setting


def _absolute_or_empty(value: Any) -> str | None:
    if isinstance(value, str) and (value == "" or value.startswith(("/", "~"))):
        return None
    return "empty (the runtime directory), or an absolute path on tmpfs such as /run/doorcam"


@dataclass(frozen=True)
class LiveConfig:
    """Live video (the camera's own H.264, never re-encoded) and a snapshot, in memory."""

    enabled: bool = setting(
        True, "Publish live video and a current snapshot for the web app (`/live`).",
        restart=True)
    dir: str = setting(
        "", "Directory for the live files, on tmpfs (never the SD card). Empty: systemd's "
        "runtime directory ($RUNTIME_DIRECTORY, /run/doorcam under the service), else "
        "$XDG_RUNTIME_DIR/doorcam-KEY or /dev/shm/doorcam-UID-KEY, KEY from the store path, "
        "so `doorcam run`/`simulate` and `doorcam web` with one config agree.",
        check=_absolute_or_empty, restart=True)
    fragment_seconds: float = setting(
        0.5, "Length of each live fragment (also cut at every keyframe); shorter means less "
        "delay and more requests.", min=0.1, max=2.0, restart=True)
    window_seconds: float = setting(
        4.0, "Seconds of fragments kept for players to start from.", min=2.0, max=30.0,
        restart=True)
    snapshot_seconds: float = setting(
        0.5, "A new snapshot this often (it is never older than this plus one frame).",
        min=0.1, max=10.0, restart=True)
    snapshot_width: int = setting(
        1280, "Largest snapshot width in pixels (0 = the picture's own).", min=0, max=4096,
        restart=True)
