"""The whole story with real processes: simulate → daemon → agency request over a real
mosquitto → owner accepts two of three clips on the CLI → exactly those two arrive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from common.mediasign.mp4 import read_samples
from tests.broker import MosquittoBroker
from tests.log_lines import LogLines
from tests.uplink.mqtt.peer import Peer, wait_until
from uplink.agency.receiver import TusReceiver
from uplink.agency.verify import verify_evidence
from uplink.protocol import public_key_to_text, sign_document, topics_for
from uplink.protocol.credentials import CredentialsState, read_credentials
from uplink.protocol.fields import format_time
from uplink.protocol.keys import generate_keypair

REPO = Path(__file__).resolve().parents[2]
LAT, LON = 40.6930, -73.9905
LISTENING = "listening for agency requests"  # logged once the broker confirmed the topics


def doorcam(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "device.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


class Scene:
    def __init__(self, tmp: Path, port: int) -> None:
        self.tmp = tmp
        self.store = tmp / "store"
        self.receiver = TusReceiver(tmp / "received").start()
        self.registry_key, self.agency_key, self.owner_key = (generate_keypair()[0]
                                                              for _ in range(3))
        now = int(time.time())
        host = self.receiver.url.split("/")[2]
        registry = {"type": "registry", "protocol": 1, "version": 1,
                    "issued_at": format_time(now - 60), "agencies": [{
                        "id": "pd-1", "name": "Test Police", "upload_hosts": [host],
                        "jurisdiction": {"lat": "40.6900000", "lon": "-73.9900000",
                                         "radius_m": 20000},
                        "keys": [{"kid": "pd-1-key", "revoked": False,
                                  "public_key": public_key_to_text(self.agency_key.public_key()),
                                  "valid_from": format_time(now - 86400),
                                  "valid_until": format_time(now + 86400)}]}]}
        self.store.mkdir()
        (self.store / "registry.json").write_text(
            json.dumps(sign_document(registry, self.registry_key, "reg-1")), encoding="utf-8")
        self.config = tmp / "doorcam.toml"
        owner = public_key_to_text(self.owner_key.public_key())
        self.config.write_text(f"""
[capture]
source = "synthetic:porch?seconds=40&size=320x240"
[store]
path = "{self.store}"
[device]
id = "porch-1"
latitude = {LAT}
longitude = {LON}
[uplink]
enabled = true
match_simulated = true  # the clips come from the synthetic scene
registry_key = "{public_key_to_text(self.registry_key.public_key())}"
owner_keys = ["owner-1:{owner}"]
[mqtt]
port = {port}
reconnect_min_s = 1
reconnect_max_s = 2
[upload]
allow_insecure_loopback = true
backoff_base_s = 0.2
""", encoding="utf-8")
        self.daemon: subprocess.Popen[str] | None = None
        self.log: LogLines | None = None

    def request(self, request_id: str | None = None, **extra: Any) -> bytes:
        now = int(time.time())
        body = {"type": "request", "protocol": 1, "request_id": request_id or str(uuid.uuid4()),
                "agency": {"id": "pd-1", "name": "Test Police"}, "case_number": "2026-001",
                "incident_type": "package theft", "description": "A parcel was taken.",
                "investigator": {"name": "Det. Ada", "contact": "+1 555 0100"},
                "location": {"lat": f"{LAT:.7f}", "lon": f"{LON:.7f}", "radius_m": 300},
                "window": {"start": format_time(now - 1800), "end": format_time(now + 120)},
                "issued_at": format_time(now - 5), "expires_at": format_time(now + 86400),
                "upload_url": self.receiver.url, **extra}
        return json.dumps(sign_document(body, self.agency_key, "pd-1-key")).encode()

    def start_daemon(self) -> None:
        self.daemon = subprocess.Popen(
            [sys.executable, "-m", "device.cli", "run", "--no-capture", "--config",
             str(self.config)], cwd=REPO, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.log = LogLines(self.daemon)

    def wait_log(self, text: str, timeout: float = 30.0) -> None:
        assert self.log is not None
        self.log.wait_for(text, timeout)

    def stop_daemon(self) -> str:
        assert self.daemon is not None and self.log is not None
        self.daemon.send_signal(signal.SIGTERM)
        self.daemon.wait(60)
        err = self.log.text()
        assert self.daemon.returncode == 0, err
        return err

    def requests(self, *extra: str) -> list[dict[str, Any]]:
        done = doorcam("requests", "list", "--json", "--config", str(self.config), *extra)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def scene(tmp_path: Path, make_broker: Callable[..., MosquittoBroker]) -> Iterator[Scene]:
    broker = make_broker(tmp_path / "broker-data")
    broker.start()
    s = Scene(tmp_path, broker.port)
    s.broker = broker  # type: ignore[attr-defined]
    made = doorcam("simulate", "--config", str(s.config), "--quiet")
    assert made.returncode == 0, made.stderr
    yield s
    if s.daemon is not None and s.daemon.poll() is None:
        s.daemon.kill()
    s.receiver.stop()


def test_request_accept_two_of_three_then_exactly_those_arrive(scene: Scene) -> None:
    clips = json.loads(doorcam("clips", "list", "--json", "--config", str(scene.config)).stdout)
    assert len(clips) >= 3, clips
    scene.start_daemon()
    agency = Peer(scene.broker.port)  # type: ignore[attr-defined]
    scene.wait_log(LISTENING)
    payload = scene.request()
    request_id = json.loads(payload)["request_id"]
    # Hostile payloads first: the device logs them and carries on.
    for junk in (b"{not json", b"\xff\xfe\x00", b"[" * 50_000, b"{}", b"x" * 60_000):
        agency.publish(topics_for(LAT, LON)[0], junk)
    agency.publish(topics_for(LAT, LON)[0], payload)
    scene.wait_log(f"agency request: pending {request_id}")
    pending = scene.requests()
    assert [r["request_id"] for r in pending] == [request_id]
    matched = [c["id"] for c in pending[0]["clips"]]
    assert len(matched) >= 3
    time.sleep(2.5)  # an upload poll passes: still nothing may leave
    assert scene.receiver.connections == 0

    chosen = matched[:2]
    done = doorcam("requests", "accept", request_id, "--clip", chosen[0], "--clip", chosen[1],
                   "--config", str(scene.config))
    assert done.returncode == 0, done.stderr
    wait_until(lambda: len(scene.receiver.completed()) == 3, timeout=30, what="3 uploads")
    received = {u.metadata["clip_id"]: u.path for u in scene.receiver.completed().values()}
    assert set(received) == {*chosen, "manifest"}
    report = verify_evidence(received.pop("manifest").read_bytes(), received)
    assert report.ok and sorted(report.verified_clips) == sorted(chosen), report.problems
    store_clips = scene.store / "clips"
    for cid in chosen:
        # The stored clip's very frames, with the device's Content Credentials added.
        assert read_samples(received[cid])[1] == read_samples(store_clips / f"{cid}.mp4")[1]
        cred = read_credentials(received[cid])
        assert cred.state is CredentialsState.VALID, cred.line()
        assert cred.facts is not None and cred.facts["clip_id"] == cid
        assert cred.facts["request"]["request_id"] == request_id

    # Daemon and broker restart; the agency re-publishes: nothing is shown or sent twice.
    err = scene.stop_daemon()
    assert "Traceback" not in err
    scene.broker.stop()  # type: ignore[attr-defined]
    scene.broker.start()  # type: ignore[attr-defined]
    scene.start_daemon()
    agency2 = Peer(scene.broker.port)  # type: ignore[attr-defined]
    scene.wait_log(LISTENING)
    agency2.publish(topics_for(LAT, LON)[0], payload)
    scene.wait_log(f"agency request: duplicate {request_id}")
    assert [r["request_id"] for r in scene.requests("--all")] == [request_id]
    assert len(scene.receiver.completed()) == 3
    assert scene.daemon is not None and scene.daemon.poll() is None, "daemon died"
    err = scene.stop_daemon()
    rejected_lines = [ln for ln in err.splitlines() if "request rejected" in ln]
    audit = doorcam("audit", "verify", "--config", str(scene.config))
    assert audit.returncode == 0 and "intact" in audit.stdout, audit.stdout + audit.stderr
    shown = doorcam("audit", "show", "--json", "--config", str(scene.config))
    kinds = [json.loads(line)["kind"] for line in shown.stdout.splitlines()]
    assert kinds.count("shown") == 1 and kinds.count("uploaded") == 1, kinds
    assert kinds.count("rejected") == 5, kinds  # the five hostile payloads, once each
    assert not rejected_lines or all(len(ln) < 400 for ln in rejected_lines)
    for peer in (agency, agency2):
        peer.close()


def test_the_owner_sees_the_agencys_terms_before_deciding(scene: Scene) -> None:
    terms = {"retention_days": 30, "no_onward_sharing": True, "text": "Deleted at trial end."}
    path = scene.tmp / "with-terms.json"
    path.write_bytes(scene.request(terms=terms))
    rid = json.loads(path.read_bytes())["request_id"]
    done = doorcam("requests", "import", str(path), "--config", str(scene.config))
    assert done.returncode == 0 and "pending" in done.stdout, done.stdout + done.stderr
    shown = doorcam("requests", "show", rid, "--config", str(scene.config))
    assert shown.returncode == 0, shown.stderr
    assert "keeps the footage at most 30 day(s); shares it with no one else" in shown.stdout
    assert "Deleted at trial end." in shown.stdout
    as_json = doorcam("requests", "show", rid, "--json", "--config", str(scene.config))
    assert json.loads(as_json.stdout)["terms"] == terms
