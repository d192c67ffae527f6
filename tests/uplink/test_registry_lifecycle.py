"""The agency registry's lifecycle on a device: `doorcam registry install` from a file and
from an https URL, `refresh`, rollback refused, the audit entry, revoked and expired keys,
the expiry warning, and a running daemon taking a new registry without a restart."""

from __future__ import annotations

import http.server
import json
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme

from tests.broker import MosquittoBroker
from tests.daemon_proc import NotifySocket
from tests.log_lines import LogLines
from tests.uplink.mqtt.peer import Peer
from uplink.agency import compose_request
from uplink.audit import AuditLog
from uplink.errors import RequestRejected
from uplink.protocol import (
    RequestLedger,
    RequestValidator,
    generate_keypair,
    public_key_to_text,
    save_private_key,
    topics_for,
)
from uplink.protocol.registry import parse_registry

REPO = Path(__file__).resolve().parents[2]
LAT, LON = 40.6930, -73.9905
KIDS = ("pd-a", "pd-b", "pd-c")


def doorcam(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "device.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


class Signer:
    """A registry signer with one agency (three keys), signing through `doorcam agency`."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.key = generate_keypair()[0]
        save_private_key(self.key, tmp / "reg.key")
        self.public = public_key_to_text(self.key.public_key())
        self.agency_keys = {kid: generate_keypair()[0] for kid in KIDS}
        (tmp / "agencies.json").write_text(json.dumps([{
            "id": "pd-1", "name": "Test Police", "upload_hosts": ["evidence.example"],
            "lat": LAT, "lon": LON, "radius_m": 20000,
            "keys": [f"{k}:{public_key_to_text(v.public_key())}"
                     for k, v in self.agency_keys.items()]}]))
        self.made = 0

    def sign(self, version: int, *options: str) -> Path:
        self.made += 1
        out = self.tmp / f"registry-v{version}-{self.made}.json"
        done = doorcam("agency", "registry", "--key", str(self.tmp / "reg.key"), "--kid",
                       "reg-1", "--agencies", str(self.tmp / "agencies.json"), "--version",
                       str(version), "--out", str(out), *options)
        assert done.returncode == 0, done.stderr
        return out

    def variant(self, base: Path, **changes: object) -> bytes:
        """`base` with `changes` to its body, signed again (in process: faster)."""
        from uplink.protocol import sign_document

        body = json.loads(base.read_text())
        del body["sig"], body["kid"]
        body.update(changes)
        return json.dumps(sign_document(body, self.key, "reg-1")).encode()

    def request(self, kid: str) -> bytes:
        now = int(time.time())
        doc = compose_request(
            key=self.agency_keys[kid], kid=kid, agency_id="pd-1", agency_name="Test Police",
            case_number="C-1", incident_type="burglary", description="Side door forced.",
            investigator="Det. B", contact="x@pd", lat=LAT, lon=LON, radius_m=300,
            start=now - 7200, end=now - 3600, upload_url="https://evidence.example/files/",
            now=now)
        return json.dumps(doc).encode()


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer(tmp_path)


def device_config(tmp: Path, signer: Signer, extra: str = "") -> Path:
    conf = tmp / "doorcam.toml"
    conf.write_text(f'[store]\npath = "{tmp}/store"\n[device]\nlatitude = {LAT}\n'
                    f'longitude = {LON}\n[uplink]\nregistry_key = "{signer.public}"\n{extra}')
    return conf


def registry_entries(store: Path) -> list[dict[str, object]]:
    with AuditLog(store / "audit.sqlite3") as audit:
        return [{"request_id": e.request_id, **json.loads(e.detail)} for e in audit.entries()
                if e.kind == "registry"]


def refused(done: subprocess.CompletedProcess[str], reason: str) -> None:
    assert done.returncode != 0, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], done.stderr


def test_install_from_a_file_is_checked_written_and_audited_and_rollback_refused(
        tmp_path: Path, signer: Signer) -> None:
    conf = device_config(tmp_path, signer)
    store = tmp_path / "store"
    v1, v2 = signer.sign(1), signer.sign(2)
    v2_other = signer.sign(2, "--revoke", "pd-c")
    assert json.loads(v2.read_text())["agencies"] != json.loads(v2_other.read_text())["agencies"]

    done = doorcam("registry", "install", "--config", str(conf), str(v2))
    assert done.returncode == 0, done.stderr
    assert "installed registry v2 with 1 agency(ies)" in done.stdout
    assert (store / "registry.json").read_bytes() == v2.read_bytes()
    digest = parse_registry(v2.read_bytes(), signer.key.public_key(), time.time()).body_sha256
    assert registry_entries(store) == [{"request_id": None, "version": 2, "body_sha256": digest,
                                        "previous_version": 0, "source": str(v2)}]

    refused(doorcam("registry", "install", "--config", str(conf), str(v1)),
            "registry version 1 is older than 2, accepted before")
    refused(doorcam("registry", "install", "--config", str(conf), str(v2_other)),
            "registry version 2 seen before with other content")
    forged = json.loads(v1.read_text())
    forged["version"] = 3
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    refused(doorcam("registry", "install", "--config", str(conf), str(tmp_path / "forged.json")),
            "registry refused: bad_signature")
    assert (store / "registry.json").read_bytes() == v2.read_bytes(), "refused: nothing changes"

    again = doorcam("registry", "install", "--config", str(conf), str(v2))
    assert again.returncode == 0 and "registry v2 is already installed" in again.stdout
    assert len(registry_entries(store)) == 1
    refused(doorcam("registry", "refresh", "--config", str(conf)), "no registry URL recorded")


class RegistryHost:
    """A real HTTPS server on loopback (certificate from a test CA) serving registries."""

    def __init__(self, tmp: Path) -> None:
        ca = trustme.CA()
        self.ca_file = tmp / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/moved":
                    self.send_response(302)
                    self.send_header("Location", "/registry.json")
                    self.end_headers()
                    return
                body = files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(ctx)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[RegistryHost]:
    h = RegistryHost(tmp_path)
    yield h
    h.stop()


def test_install_from_an_https_url_then_refresh_from_it(
        tmp_path: Path, signer: Signer, host: RegistryHost) -> None:
    conf = device_config(tmp_path, signer)
    store = tmp_path / "store"
    host.files["/registry.json"] = signer.sign(1).read_bytes()
    url = f"{host.url}/registry.json"

    refused(doorcam("registry", "install", "--config", str(conf), url),
            "TLS certificate not trusted")
    refused(doorcam("registry", "install", "--config", str(conf), "--ca-file",
                    str(host.ca_file), f"{host.url}/moved"), "refusing redirect 302")
    refused(doorcam("registry", "install", "--config", str(conf),
                    url.replace("https:", "http:")), "http")
    assert not (store / "registry.json").exists()

    done = doorcam("registry", "install", "--config", str(conf), "--ca-file",
                   str(host.ca_file), url)
    assert done.returncode == 0, done.stderr
    assert (store / "registry.json").read_bytes() == host.files["/registry.json"]

    host.files["/registry.json"] = signer.sign(2).read_bytes()
    done = doorcam("registry", "refresh", "--config", str(conf))
    assert done.returncode == 0, done.stderr
    assert "installed registry v2 (was v1)" in done.stdout
    assert (store / "registry.json").read_bytes() == host.files["/registry.json"]
    entries = registry_entries(store)
    assert [(e["version"], e["previous_version"], e["source"]) for e in entries] == [
        (1, 0, url), (2, 1, url)]

    again = doorcam("registry", "refresh", "--config", str(conf))
    assert again.returncode == 0 and "already installed" in again.stdout

    host.files["/registry.json"] = signer.sign(1).read_bytes()  # a rollback, served
    refused(doorcam("registry", "refresh", "--config", str(conf)), "older than 2")
    del host.files["/registry.json"]
    refused(doorcam("registry", "refresh", "--config", str(conf)), "HTTP 404")
    assert len(registry_entries(store)) == 2


def test_revoked_and_out_of_validity_keys_refuse_requests_with_their_reason(
        tmp_path: Path, signer: Signer) -> None:
    path = signer.sign(1, "--revoke", "pd-a", "--not-before", "pd-b=now-3d",
                       "--not-after", "pd-b=now-1h")
    keys = json.loads(path.read_text())["agencies"][0]["keys"]
    assert [k["revoked"] for k in keys] == [True, False, False]
    registry = parse_registry(path.read_bytes(), signer.key.public_key(), time.time())
    validator = RequestValidator(registry, RequestLedger(tmp_path / "ledger.sqlite3"))
    now = time.time()
    for kid, reason in (("pd-a", "revoked_key"), ("pd-b", "key_not_valid")):
        with pytest.raises(RequestRejected) as caught:
            validator.validate(signer.request(kid), now)
        assert caught.value.reason == reason
    assert validator.validate(signer.request("pd-c"), now).agency.agency_id == "pd-1"

    unknown = doorcam("agency", "registry", "--key", str(tmp_path / "reg.key"), "--kid", "r",
                      "--agencies", str(tmp_path / "agencies.json"), "--version", "1",
                      "--out", str(tmp_path / "x.json"), "--revoke", "pd-z")
    refused(unknown, "no agency key 'pd-z'")


def test_expiry_is_warned_by_config_check_and_an_expired_registry_refused(
        tmp_path: Path, signer: Signer) -> None:
    conf = device_config(tmp_path, signer, "enabled = true\n")
    soon = signer.sign(1, "--not-after", "pd-c=now+5d", "--expires-days", "10")
    done = doorcam("registry", "install", "--config", str(conf), str(soon))
    assert done.returncode == 0, done.stderr
    assert "warning: registry v1 expires" in done.stdout
    checked = doorcam("config", "check", "--no-capture", str(conf))
    assert checked.returncode == 0, checked.stderr
    out = checked.stdout + checked.stderr
    assert "agency registry: key 'pd-c' of pd-1 expires" in out and "(in 5 day(s))" in out
    assert "agency registry: registry v1 expires" in out

    quiet = device_config(tmp_path, signer, "enabled = true\nregistry_warn_days = 3\n")
    checked = doorcam("config", "check", "--no-capture", str(quiet))
    assert checked.returncode == 0 and "agency registry:" not in checked.stdout + checked.stderr

    # A registry already past its expiry is refused like a bad signature.
    body = json.loads(soon.read_text())
    from uplink.protocol import sign_document
    from uplink.protocol.fields import format_time

    del body["sig"], body["kid"]
    body.update(version=2, issued_at=format_time(int(time.time()) - 7200),
                expires_at=format_time(int(time.time()) - 3600))
    (tmp_path / "old.json").write_text(json.dumps(sign_document(body, signer.key, "reg-1")))
    refused(doorcam("registry", "install", "--config", str(conf), str(tmp_path / "old.json")),
            "registry v2 expired at")


def test_running_daemon_takes_a_new_registry_and_warns_before_expiry(
        tmp_path: Path, signer: Signer, make_broker: Callable[..., MosquittoBroker]) -> None:
    broker = make_broker()
    broker.start()
    conf = device_config(tmp_path, signer, f"enabled = true\n[mqtt]\nport = {broker.port}\n"
                         "reconnect_min_s = 1\nreconnect_max_s = 2\n")
    done = doorcam("registry", "install", "--config", str(conf),
                   str(signer.sign(1, "--not-after", "pd-c=now+5d")))
    assert done.returncode == 0, done.stderr
    notify = NotifySocket(tmp_path / "notify.sock")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "device.cli", "run", "--no-capture", "--config", str(conf)],
        cwd=REPO, stderr=subprocess.PIPE, text=True,
        env=notify.env(PYTHONUNBUFFERED="1"))
    log = LogLines(daemon)
    agency = Peer(broker.port)
    try:
        log.wait_for("agency registry: key 'pd-c' of pd-1 expires", 60)
        notify.wait_for(lambda ms: any("REGISTRY: key 'pd-c' of pd-1 expires" in m for m in ms),
                        60, "the expiry warning in STATUS")
        log.wait_for("listening for agency requests", 60)
        agency.publish(topics_for(LAT, LON)[0], signer.request("pd-a"))
        log.wait_for("agency request: no_clips", 30)  # verified: the key is good

        done = doorcam("registry", "install", "--config", str(conf),
                       str(signer.sign(2, "--revoke", "pd-a")))
        assert done.returncode == 0, done.stderr
        log.wait_for("agency registry v2 loaded (was v1)", 30)
        agency.publish(topics_for(LAT, LON)[0], signer.request("pd-a"))
        log.wait_for("revoked_key", 30)
        notify.wait_for(lambda ms: "REGISTRY" not in ms[-1], 60, "the warning gone")
    finally:
        agency.close()
        daemon.terminate()
        daemon.wait(60)
        notify.close()
    assert "Traceback" not in log.text()


def test_live_registry_refuses_requests_once_expired_and_keeps_its_registry_on_a_bad_file(
        tmp_path: Path, signer: Signer, caplog: pytest.LogCaptureFixture) -> None:
    from config import load_config
    from device.wiring.registry import LiveRegistry

    conf = device_config(tmp_path, signer)
    done = doorcam("registry", "install", "--config", str(conf),
                   str(signer.sign(1, "--expires-days", "1")))
    assert done.returncode == 0, done.stderr
    now = time.time()
    live = LiveRegistry(load_config(conf), now)
    validator = RequestValidator(live, RequestLedger(tmp_path / "ledger.sqlite3"))
    live.refresh(now)
    assert validator.validate(signer.request("pd-a"), now).agency.agency_id == "pd-1"

    (tmp_path / "store/registry.json").write_text('{"not": "a registry"}')
    live.refresh(now)
    assert live.current.version == 1
    assert "agency registry" in caplog.text and "v1 stays in use" in caplog.text

    live.refresh(now + 2 * 86400)  # the registry's expiry has passed
    with pytest.raises(RequestRejected) as caught:
        validator.validate(signer.request("pd-a"), now)
    assert caught.value.reason == "registry_expired"
    assert live.warnings(now + 2 * 86400)[0].startswith("registry v1 expired ")


def _pickups(store: Path) -> list[tuple[str, dict[str, object]]]:
    with AuditLog(store / "audit.sqlite3") as audit:
        return [(e.kind, json.loads(e.detail)) for e in audit.entries()
                if e.kind in ("registry_loaded", "registry_refused")]


def test_daemon_audits_each_registry_it_takes_into_use_and_each_refused_file_once(
        tmp_path: Path, signer: Signer) -> None:
    """Unit level (the daemon's LiveRegistry with audit on): one entry per distinct registry
    or refused file, across restarts too; a refused file leaves the registry in use."""
    import hashlib
    import os

    from config import load_config
    from device.errors import UserError
    from device.web.words import describe_audit
    from device.wiring.registry import LiveRegistry, install
    from uplink.protocol.fields import format_time

    conf = device_config(tmp_path, signer)
    store, cfg = tmp_path / "store", load_config(conf)
    now = time.time()
    v1 = signer.sign(1, "--expires-days", "30")

    def resign(**changes: object) -> bytes:
        return signer.variant(v1, **changes)
    install(cfg, v1.read_bytes(), str(v1), now)
    assert _pickups(store) == [], "an install is audited as such, not as taken into use"
    reg1 = parse_registry(v1.read_bytes(), signer.key.public_key(), now)
    assert reg1.expires_at is not None
    live = LiveRegistry(cfg, now, audit=True)
    loaded_v1 = ("registry_loaded", {
        "version": 1, "body_sha256": reg1.body_sha256, "agencies": 1,
        "issued_at": format_time(reg1.issued_at), "expires_at": format_time(reg1.expires_at)})
    assert _pickups(store) == [loaded_v1]
    LiveRegistry(cfg, now, audit=True)  # a restart with the same registry
    assert _pickups(store) == [loaded_v1]

    registry = store / "registry.json"
    forged = json.loads(v1.read_text())
    forged["version"] = 3
    registry.write_text(json.dumps(forged))
    for _ in range(2):  # the same bad file seen again (touched) is not audited again
        live.refresh(now)
        assert live.current.version == 1
        os.utime(registry, ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(UserError, match="bad_signature"):
        LiveRegistry(cfg, now, audit=True)  # nor at a restart that finds it
    refused = _pickups(store)[1:]
    assert refused == [("registry_refused", {
        "file_sha256": hashlib.sha256(registry.read_bytes()).hexdigest(),
        "in_use_version": 1, "reason": refused[0][1]["reason"]})]
    assert "registry refused: bad_signature" in str(refused[0][1]["reason"])

    registry.write_bytes(resign(version=2))  # as `doorcam registry install` leaves it
    live.refresh(now)
    assert live.current.version == 2
    registry.write_bytes(v1.read_bytes())  # a rollback put in place by hand
    live.refresh(now)
    registry.write_bytes(resign(version=4, issued_at=format_time(int(now) - 7200),
                                expires_at=format_time(int(now) - 3600)))
    live.refresh(now)
    assert live.current.version == 2
    kinds = [(k, d.get("version") or d.get("reason")) for k, d in _pickups(store)[2:]]
    assert [k for k, _ in kinds] == ["registry_loaded", "registry_refused", "registry_refused"]
    assert kinds[0][1] == 2 and "older than 2" in str(kinds[1][1])
    assert "registry v4 expired at" in str(kinds[2][1])

    registry.write_bytes(resign(version=5))
    assert LiveRegistry(cfg, now).current.version == 5  # as the owner's commands read it
    assert len(_pickups(store)) == 5, "only the daemon audits what it takes into use"

    log = store / "audit.sqlite3"
    log.rename(store / "aside")
    log.mkdir()  # the audit log cannot be opened: the registry is not taken into use
    registry.write_bytes(resign(version=6))
    live.refresh(now)
    assert live.current.version == 2
    log.rmdir()
    (store / "aside").rename(log)
    live.refresh(now)  # tried again, the file unchanged
    assert live.current.version == 6 and _pickups(store)[-1][1]["version"] == 6

    with AuditLog(store / "audit.sqlite3") as audit:
        words = [describe_audit(e) for e in audit.entries()]
        assert audit.verify().ok
    assert words[0] == "Agency registry v1 installed."
    assert words[1].startswith("The doorcam service took agency registry v1 into use: "
                               "1 agency, valid until ")
    assert words[2] == ("An agency registry file was refused (registry refused: bad_signature: "
                        f"{str(refused[0][1]['reason']).split('bad_signature: ')[1]}); "
                        "v1 stays in use.")
    assert words[4].startswith("An agency registry file was refused (registry version 1 is "
                               "older than 2")


def test_install_never_replaces_a_newer_registry_in_place(tmp_path: Path, signer: Signer) -> None:
    """The state can lag the file (a crash between writing and recording it): a refresh that
    fetches the registry the state names must not put it over the newer one in place."""
    from config import load_config
    from device.errors import UserError
    from device.wiring.registry import install

    cfg, store = load_config(device_config(tmp_path, signer)), tmp_path / "store"
    v1, now = signer.sign(1), time.time()
    install(cfg, v1.read_bytes(), str(v1), now)
    newer = signer.variant(v1, version=2)
    (store / "registry.json").write_bytes(newer)
    assert json.loads((store / "registry.state").read_text())["version"] == 1
    with pytest.raises(UserError, match="registry version 1 is older than 2, in place at "):
        install(cfg, v1.read_bytes(), "https://registry.example/registry.json", now)
    assert (store / "registry.json").read_bytes() == newer
