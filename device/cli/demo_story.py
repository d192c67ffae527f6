"""Part 2 of the demo: an agency, a broker, the daemon and the owner, all on loopback."""

from __future__ import annotations

import json
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from device.cli.localbroker import MosquittoBroker
from uplink.agency import AgencySpec, EvidenceInbox, compose_request, sign_registry
from uplink.protocol import generate_keypair, public_key_to_text, save_private_key

LAT, LON = 40.6930, -73.9905  # the demo porch (Brooklyn); never leaves the device


class Story:
    def __init__(self, root: Path, store: Path) -> None:
        self.root, self.store = root, store
        self.broker = MosquittoBroker(work_dir=root / "broker")
        self.inbox = EvidenceInbox(root / "agency" / "evidence")
        self.daemon: subprocess.Popen[Any] | None = None
        self.web: subprocess.Popen[str] | None = None
        self.receiver: Any = None
        self.app: tuple[str, str] | None = None  # the web app's address and one-time password

    def __enter__(self) -> Story:
        from uplink.agency.receiver import TusReceiver

        self.broker.start()
        self.receiver = TusReceiver(self.root / "agency" / "incoming",
                                    on_complete=self.inbox.on_complete).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.web is not None:
            stop_process(self.web)
        if self.daemon is not None:
            stop_process(self.daemon)
        self.receiver.stop()
        self.broker.stop()

    def _setup(self) -> tuple[Path, Any]:
        keys = self.root / "keys"
        keys.mkdir()
        registry, agency, owner = (generate_keypair()[0] for _ in range(3))
        for name, key in (("registry", registry), ("agency", agency), ("owner", owner)):
            save_private_key(key, keys / f"{name}.key")
        # The agency signs a receipt of what arrives, which the device checks and audits.
        self.receiver.receipt_key, self.receiver.receipt_kid = agency, "demo-pd-1"
        host = self.receiver.url.split("/")[2]
        spec = AgencySpec("demo-pd", "Demo Police Department",
                          [("demo-pd-1", public_key_to_text(agency.public_key()))], [host],
                          40.69, -73.99, 20000)
        doc = sign_registry([spec], registry, "demo-registry", version=1, now=int(time.time()))
        (self.store / "registry.json").write_text(json.dumps(doc, indent=2), encoding="utf-8")
        config = self.root / "doorcam.toml"
        config.write_text(f"""# written by doorcam demo
[store]
path = "{self.store}"
[device]
id = "demo-porch"
latitude = {LAT}
longitude = {LON}
[uplink]
enabled = true
match_simulated = true  # the demo's clips come from the synthetic scene
registry_key = "{public_key_to_text(registry.public_key())}"
owner_keys = ["owner:{public_key_to_text(owner.public_key())}"]
[mqtt]
port = {self.broker.port}
[upload]
allow_insecure_loopback = true  # the demo's receiver is plain http on 127.0.0.1
[web]
tls = false  # plain http only on loopback: a device on the LAN uses TLS
listen = "127.0.0.1:0"
""", encoding="utf-8")
        return config, agency

    def tell(self, main: Callable[[list[str]], int]) -> int:
        config, agency_key = self._setup()
        say(f"Part 2: the device daemon listens for agency requests (broker on "
            f"127.0.0.1:{self.broker.port})")
        self.daemon = subprocess.Popen(
            [sys.executable, "-m", "device.cli", "run", "--no-capture", "--config", str(config),
             "--log-level", "INFO"], stderr=subprocess.PIPE, text=True)
        self._wait_listening(self.daemon)
        now = int(time.time())
        request = compose_request(
            key=agency_key, kid="demo-pd-1", agency_id="demo-pd",
            agency_name="Demo Police Department", case_number="DEMO-2026-0042",
            incident_type="package theft",
            description="A parcel was taken from a porch on this street. Looking for a "
                        "person carrying a brown box.",
            investigator="Det. R. Alvarez", contact="+1 555 0142", lat=LAT + 0.001, lon=LON,
            radius_m=300, start=now - 1800, end=now + 60, upload_url=self.receiver.url, now=now)
        req_file = self.root / "agency" / "request.json"
        req_file.write_text(json.dumps(request, indent=2), encoding="utf-8")
        rid = request["request_id"]
        say("The agency signs a request for assistance and publishes it")
        main(["agency", "publish", str(req_file), "--port", str(self.broker.port)])
        listed: list[Any] = []

        def pending() -> bool:
            listed[:] = self._pending(config)
            return any(r["request_id"] == rid for r in listed)

        wait_for(pending, 30, "the daemon to receive the request")
        say("The owner is shown it (doorcam requests show); nothing has left the device")
        main(["requests", "show", rid, "--config", str(config)])
        clips = [c["id"] for c in next(r for r in listed if r["request_id"] == rid)["clips"]]
        chosen = clips[:2]
        accept = ["requests", "accept", rid, *[a for c in chosen for a in ("--clip", c)],
                  "--config", str(config)]
        assert self.receiver.connections == 0, "nothing may be sent before the decision"
        say("The owner shares two of the clips in the web app (what a browser sends):")
        self._share_in_the_app(config, main, rid, chosen)
        print("  (the same from the command line: .venv/bin/doorcam " + " ".join(accept) + ")",
              flush=True)
        folder = self.inbox.directory / rid
        wait_for(lambda: (folder / "VERIFIED.json").exists(), 60, "the evidence upload")
        say(f"The agency received exactly those clips and verified them: {folder}")
        for path in sorted(folder.iterdir()):
            print(f"  {path.name:40s} {path.stat().st_size:>9} bytes")
        print(show_json(folder / "VERIFIED.json"))
        say("An evidence technician checks the video signed at capture, GOP by GOP "
            "(doorcam agency verify)")
        if main(["agency", "verify", str(folder)]) != 0:
            return 1
        say("Every step is in the device's hash-chained audit log (doorcam audit show)")
        main(["audit", "show", "--config", str(config)])
        return main(["audit", "verify", "--config", str(config)])

    def stay(self) -> None:
        """Keep the app (and the daemon, broker and receiver behind it) running until Ctrl-C,
        its address and login printed last, so the link above is alive."""
        assert self.app is not None
        url, password = self.app
        say("The owner's app keeps running: open it in a browser (Ctrl-C stops the demo)")
        print(f"  {url}/", flush=True)
        print(f"  log in as owner, password {password} (a one-time demo account)", flush=True)
        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.is_set():
                if self.web is not None and self.web.poll() is not None:
                    print("  the app stopped; the demo ends", flush=True)
                    return
                stop.wait(0.5)
        except KeyboardInterrupt:
            print("\n  stopping the demo", flush=True)
        finally:
            signal.signal(signal.SIGTERM, previous)

    def _start_web(self, config: Path, main: Callable[[list[str]], int]) -> tuple[str, str]:
        """`doorcam web` on loopback with a one-time account: (its address, the password)."""
        password = secrets.token_urlsafe(12)
        added = subprocess.run([sys.executable, "-m", "device.cli", "web", "adduser", "owner",
                                "--password-stdin", "--config", str(config)],
                               input=password + "\n", capture_output=True, text=True,
                               timeout=60)
        if added.returncode != 0:
            raise RuntimeError(f"demo: doorcam web adduser failed: {added.stderr.strip()}")
        self.web = subprocess.Popen(
            [sys.executable, "-m", "device.web", "--config", str(config)],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        assert self.web.stderr is not None
        for line in self.web.stderr:
            m = re.search(r"serving (http://127\.0\.0\.1:\d+)/", line)
            if m:
                threading.Thread(target=_drain, args=(self.web.stderr,), daemon=True).start()
                return m.group(1), password
        raise RuntimeError("demo: doorcam web stopped before it served")

    def _share_in_the_app(self, config: Path, main: Callable[[list[str]], int], rid: str,
                          chosen: list[str]) -> None:
        import requests

        url, password = self._start_web(config, main)
        self.app = (url, password)
        print(f"  the owner's app: {url}/  (log in as owner, password {password}; a "
              "one-time demo account)", flush=True)
        s = requests.Session()
        s.trust_env = False
        same_site = {"Origin": url, "Sec-Fetch-Site": "same-origin"}
        token = _field(s.get(f"{url}/login", timeout=30).text, "login_token")
        r = s.post(f"{url}/login", data={"login_token": token, "name": "owner",
                                         "password": password, "next": "/"},
                   headers=same_site, allow_redirects=False, timeout=30)
        if r.status_code != 303:
            raise RuntimeError(f"demo: logging in to the app failed ({r.status_code})")
        home = s.get(f"{url}/", timeout=30).text
        if f'id="request-{rid}"' not in home:
            raise RuntimeError("demo: the app's home screen does not show the request")
        page = s.get(f"{url}/requests", timeout=30).text
        if f'id="request-{rid}"' not in page:
            raise RuntimeError("demo: the app does not show the request")
        confirm = s.get(f"{url}/requests/{rid}/share", params={"clip": chosen}, timeout=30)
        if confirm.status_code != 200 or "cannot be undone" not in confirm.text:
            raise RuntimeError(f"demo: the app's share confirmation failed "
                               f"({confirm.status_code})")
        print(f"  GET / shows the request's banner, /requests the request; two clips ticked, "
              f"the confirmation page names them; POST /requests/{rid}/share", flush=True)
        r = s.post(f"{url}/requests/{rid}/share",
                   data={"csrf": _field(confirm.text, "csrf"), "clip": chosen,
                         "confirm": "yes"}, headers=same_site, allow_redirects=False,
                   timeout=60)
        if r.status_code != 303:
            raise RuntimeError(f"demo: the app refused the decision ({r.status_code})")

    def _wait_listening(self, daemon: subprocess.Popen[str]) -> None:
        """Publish only once the daemon listens: it says so only after the broker has
        confirmed its subscriptions (it announces nothing on the agency broker). Its
        warnings and errors still reach the terminal; its other lines do not."""
        assert daemon.stderr is not None
        listening = threading.Event()
        threading.Thread(target=_daemon_lines, args=(daemon.stderr, listening),
                         daemon=True).start()
        if not listening.wait(30):
            raise TimeoutError("demo: the daemon did not start listening for requests")

    def _pending(self, config: Path) -> list[Any]:
        done = subprocess.run([sys.executable, "-m", "device.cli", "requests", "list", "--json",
                               "--config", str(config)], capture_output=True, text=True,
                              timeout=60)
        return json.loads(done.stdout) if done.returncode == 0 else []


def _field(page: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]+)"', page)
    if not m:
        raise RuntimeError(f"demo: the app's page has no {name} field")
    return m.group(1)


def _daemon_lines(stream: Any, listening: threading.Event) -> None:
    for line in stream:
        if "listening for agency requests" in line:
            listening.set()
        parts = line.split(" ", 3)
        if len(parts) < 3 or parts[2] not in ("DEBUG", "INFO"):
            sys.stderr.write(line)  # a warning or worse, or a line of a traceback


def _drain(stream: Any) -> None:
    for _ in stream:
        pass


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)



def doorcam(argv: list[str]) -> int:
    """One doorcam command in a child process, its output on ours."""
    return subprocess.run([sys.executable, "-m", "device.cli", *argv], check=False).returncode


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
