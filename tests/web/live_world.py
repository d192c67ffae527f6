"""A running camera for the live view's tests: `doorcam run` on a synthetic porch whose
every frame carries its capture time (`stamp=1`), paced in real time, beside the web app,
both started by hand with one config (no systemd: the live directory follows from it)."""

from __future__ import annotations

from pathlib import Path

from tests.daemon_proc import DaemonRun
from tests.web.world import World

STAMPED = "synthetic:empty?seconds=600&size=640x480&fps=25&stamp=1"


class LiveWorld(World):
    def __init__(self, tmp: Path, template: Path, *, source: str = STAMPED,
                 live: str = "") -> None:
        super().__init__(tmp, template, tls=False)
        self.config.write_text(f"""
[capture]
source = "{source}"
loop = true
[store]
path = "{self.store}"
[uplink]
enabled = false
[web]
tls = false
listen = "127.0.0.1:0"
[live]
{live}
""", encoding="utf-8")
        self.camera: DaemonRun | None = None

    def start_camera(self) -> Path:
        """Start the daemon; the live directory it publishes in, once it said so."""
        self.camera = DaemonRun(self.config, speed="realtime")
        line = self.camera.wait_for_line("live view published in")
        text = self.camera.log.text(timeout=0).splitlines()[line]
        return Path(text.split("live view published in ", 1)[1].strip())

    def stop(self) -> None:
        if self.camera is not None and self.camera.running():
            self.camera.stop()
        super().stop()
