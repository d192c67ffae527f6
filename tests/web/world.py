"""A real device world for the web app's tests: a store with clips from `doorcam simulate`,
a signed agency registry, real signed requests imported through `doorcam requests import`
(the same checks as over MQTT), and `doorcam web` running as a subprocess."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from device.store import index
from device.store.files import Layout
from tests.e2e.test_consent_e2e import REPO, Scene, doorcam

READY = re.compile(r"serving (https?)://(\S+?):(\d+)/")
PASSWORD = "correct horse battery"


class World(Scene):
    """Scene (tests/e2e) plus clips copied from a template store and a web server."""

    def __init__(self, tmp: Path, template: Path, *, tls: bool = True,
                 web: str = "", listen: str = "127.0.0.1:0", lockout: int = 3) -> None:
        super().__init__(tmp, port=1)  # MQTT is never used: requests arrive by file
        for name in ("clips", "thumbs", "index.sqlite3"):
            src = template / name
            if src.is_dir():
                shutil.copytree(src, self.store / name)
            else:
                shutil.copy2(src, self.store / name)
        with self.config.open("a", encoding="utf-8") as out:
            out.write(f"[web]\ntls = {'true' if tls else 'false'}\nlisten = \"{listen}\"\n"
                      f"lockout_failures = {lockout}\n{web}\n")
        self.server: subprocess.Popen[str] | None = None
        self.log: list[str] = []
        self.url = ""
        self.env: dict[str, str] = {}

    def fill_store(self, wanted: int, spacing_s: float = 900.0) -> int:
        """Hard-link the oldest clip and its thumbnail under new ids, each `spacing_s` older
        than the last, with index rows through the store's own `index.insert`, until the
        store holds `wanted` clips (quick: no recording). The number of clips."""
        layout = Layout(self.store)
        conn = index.connect(layout.index)
        try:
            records = index.newest_first(conn, None, None)
            src = records[-1]
            at = src.start_wall - spacing_s
            conn.execute("BEGIN")
            for n in range(wanted - len(records)):
                stamp = datetime.fromtimestamp(at, UTC).strftime("%Y%m%dT%H%M%SZ")
                clip_id = f"{stamp}-{0xbe000000 + n:08x}"
                os.link(layout.clip(src.id), layout.clip(clip_id))
                os.link(layout.thumb(src.id), layout.thumb(clip_id))
                index.insert(conn, replace(src, id=clip_id, start_wall=at,
                                           end_wall=at + src.duration, held=False))
                at -= spacing_s
            conn.execute("COMMIT")
            return len(index.newest_first(conn, None, None))
        finally:
            conn.close()

    def clips(self) -> list[dict[str, Any]]:
        done = doorcam("clips", "list", "--json", "--config", str(self.config))
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout))

    def import_request(self, **changes: Any) -> str:
        """A signed request from the test agency, matched against the store; its id."""
        payload = json.loads(self.request(**changes))
        path = self.tmp / f"request-{payload['request_id']}.json"
        path.write_text(json.dumps(payload), encoding="utf-8")
        done = doorcam("requests", "import", str(path), "--config", str(self.config))
        assert done.returncode == 0 and "pending" in done.stdout, done.stdout + done.stderr
        return str(payload["request_id"])

    def web(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "device.cli", "web", *args, "--config",
                               str(self.config)], cwd=REPO, input=stdin, capture_output=True,
                              text=True, timeout=60)

    def add_user(self, name: str = "alex", password: str = PASSWORD) -> None:
        done = self.web("adduser", name, "--password-stdin", stdin=password + "\n")
        assert done.returncode == 0, done.stderr

    def start(self, *extra: str, module: str = "device.web") -> str:
        """Start the web app (`python3 -m device.web`, the service's light entry point, or
        `device.cli` with "web" in `extra`); its base URL once it logged that it serves."""
        self.server = subprocess.Popen(
            [sys.executable, "-m", module, *extra, "--config", str(self.config)],
            cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env})
        assert self.server.stderr is not None
        deadline = time.monotonic() + 60
        for line in self.server.stderr:
            self.log.append(line)
            m = READY.search(line)
            if m:
                self.url = f"{m.group(1)}://{m.group(2)}:{m.group(3)}"
                break
            if time.monotonic() > deadline:
                break
        else:
            raise AssertionError("doorcam web exited: " + "".join(self.log))
        assert self.url, "".join(self.log)
        threading.Thread(target=self._drain, daemon=True).start()
        return self.url

    def _drain(self) -> None:
        assert self.server is not None and self.server.stderr is not None
        for line in self.server.stderr:
            self.log.append(line)

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=30)
        self.receiver.stop()

    @property
    def cert(self) -> Path:
        return self.store / "web" / "cert.pem"

    def session(self) -> requests.Session:
        s = requests.Session()
        s.trust_env = False
        s.verify = str(self.cert) if self.url.startswith("https") else True
        return s
