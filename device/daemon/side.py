"""What the supervisor knows of each part of the daemon (capture, uplink, status)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from config import Config
from device.daemon.workers import Worker


class Side(Protocol):
    """One part of the daemon. It owns its threads (`workers`, every one of them: the
    supervisor refuses to run a thread it cannot watch) and the resources they hold."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def status(self) -> str:
        """One clause of the systemd STATUS line."""
        ...

    def stats(self) -> dict[str, Any]:
        """Numbers for Home Assistant (frames/s, camera state, pending requests)."""
        ...

    def reload(self, cfg: Config) -> None:
        """Take the settings that apply live (SIGHUP); the rest waits for a restart."""
        ...

    def workers(self) -> Sequence[Worker]: ...
