"""`doorcam agency …` as an agency would use it, checked against the device's own parsers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.broker import MosquittoBroker
from tests.uplink.mqtt.peer import Peer
from uplink.errors import RequestRejected
from uplink.protocol import RegistryStore, RequestLedger, RequestValidator, public_key_from_text
from uplink.protocol.geo import cells_covering, topic

REPO = Path(__file__).resolve().parents[2]


def doorcam(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "device.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def _keys(tmp: Path, *kids: str) -> dict[str, str]:
    out = {}
    for kid in kids:
        done = doorcam("agency", "keygen", "--kid", kid, "--out", str(tmp / "keys"))
        assert done.returncode == 0, done.stderr
        out[kid] = done.stdout.strip()
        assert (tmp / "keys" / f"{kid}.key").stat().st_mode & 0o077 == 0
    return out


def _request_args(tmp: Path, **changes: str) -> list[str]:
    args = {"key": str(tmp / "keys" / "pd-key.key"), "kid": "pd-key", "agency-id": "pd-9",
            "agency-name": "Ninth Precinct", "case": "C-1", "type": "burglary",
            "description": "Side door forced.", "investigator": "Det. B", "contact": "x@pd",
            "lat": "40.6930000", "lon": "-73.9905000", "radius-m": "300", "start": "now-2h",
            "end": "now-1h", "upload-url": "https://evidence.pd9.example/files/",
            "out": str(tmp / "req.json")}
    args.update(changes)
    return ["agency", "request", *[x for k, v in args.items() for x in (f"--{k}", v)]]


def test_registry_and_request_are_accepted_by_the_device_and_tampering_is_not(
        tmp_path: Path) -> None:
    keys = _keys(tmp_path, "reg-key", "pd-key")
    agencies = tmp_path / "agencies.json"
    agencies.write_text(json.dumps([{
        "id": "pd-9", "name": "Ninth Precinct", "keys": [f"pd-key:{keys['pd-key']}"],
        "upload_hosts": ["evidence.pd9.example"], "lat": 40.69, "lon": -73.99,
        "radius_m": 20000}]))
    reg = tmp_path / "registry.json"
    done = doorcam("agency", "registry", "--key", str(tmp_path / "keys" / "reg-key.key"),
                   "--kid", "reg-key", "--agencies", str(agencies), "--version", "1",
                   "--out", str(reg))
    assert done.returncode == 0, done.stderr
    registry = RegistryStore(tmp_path / "state", public_key_from_text(keys["reg-key"])).accept(
        reg.read_bytes(), time.time())
    done = doorcam(*_request_args(tmp_path))
    assert done.returncode == 0, done.stderr
    payload = (tmp_path / "req.json").read_bytes()
    with RequestLedger(tmp_path / "ledger.sqlite3") as ledger:
        verified = RequestValidator(registry, ledger).validate(payload, time.time())
        assert verified.request.case_number == "C-1"
        forged = json.loads(payload)
        forged["case_number"] = "C-2"
        with pytest.raises(RequestRejected) as info:
            RequestValidator(registry, ledger).validate(json.dumps(forged).encode(), time.time())
        assert info.value.reason == "bad_signature"


def test_policy_violation_is_a_one_line_error(tmp_path: Path) -> None:
    _keys(tmp_path, "pd-key")
    done = doorcam(*_request_args(tmp_path, start="now-70m"))  # a 10-minute window
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "policy_window" in done.stderr
    assert not (tmp_path / "req.json").exists()


def test_publish_reaches_every_cell_the_request_covers(tmp_path: Path, broker: MosquittoBroker
                                                       ) -> None:
    _keys(tmp_path, "pd-key")
    assert doorcam(*_request_args(tmp_path)).returncode == 0
    peer = Peer(broker.port)
    peer.subscribe("doorcam/v1/requests/#")
    done = doorcam("agency", "publish", str(tmp_path / "req.json"), "--port", str(broker.port))
    assert done.returncode == 0, done.stderr
    expected = {topic(c) for c in cells_covering(40.693, -73.9905, 300)}
    assert len(expected) > 1  # the circle crosses a cell border: devices on both sides hear it
    got = {peer.expect(t).topic for t in sorted(expected)}
    assert got == expected
    peer.close()
    down = doorcam("agency", "publish", str(tmp_path / "req.json"), "--port", "1")
    assert down.returncode == 2 and "unreachable" in down.stderr
    # Around a pole a circle touches thousands of cells: refused before connecting.
    assert doorcam(*_request_args(tmp_path, lat="90", out=str(tmp_path / "pole.json"))
                   ).returncode == 0
    pole = doorcam("agency", "publish", str(tmp_path / "pole.json"), "--port", "1")
    assert pole.returncode == 2 and pole.stderr.count("\n") == 1
    assert "too many cells" in pole.stderr and "unreachable" not in pole.stderr


def test_inbox_files_by_validated_ids_and_verify_catches_tampering(tmp_path: Path) -> None:
    import hashlib
    import uuid

    from uplink.agency import EvidenceInbox
    from uplink.agency.receiver import Upload
    from uplink.protocol.evidence import ClockStatement, EvidenceClip, build_manifest
    from uplink.protocol.keys import generate_keypair

    inbox = EvidenceInbox(tmp_path / "evidence")
    rid, cid = str(uuid.uuid4()), "20261128T120000Z-0123abcd"
    clip = tmp_path / "c.bin"
    clip.write_bytes(b"video" * 1000)
    digest = hashlib.sha256(clip.read_bytes()).hexdigest()
    manifest = tmp_path / "m.json"
    manifest.write_bytes(build_manifest(
        request_id=rid, case_number="C", agency_id="pd", device_id="d",
        clips=[EvidenceClip(cid, 0, 10, 5000, digest, clock=ClockStatement(False))],
        key=generate_keypair()[0],
        kid="device-x", now=time.time()))
    hostile = Upload(5, {"request_id": "../../etc", "clip_id": "../x", "filename": "../../x"},
                     clip)
    inbox.on_complete(hostile)
    assert list((tmp_path / "evidence").iterdir()) == []
    inbox.on_complete(Upload(5000, {"request_id": rid, "clip_id": cid,
                                    "filename": "../../evil.mp4"}, clip))
    inbox.on_complete(Upload(10, {"request_id": rid, "clip_id": "manifest"}, manifest))
    folder = tmp_path / "evidence" / rid
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{cid}.mp4", "VERIFIED.json", "manifest.json"]
    # A clip recorded by an unsynchronised clock is stated, and warned of, not refused.
    done = doorcam("agency", "verify", str(folder))
    assert done.returncode == 0, done.stdout
    assert f"warning: clip {cid}: clock not synchronised when recorded" in done.stdout
    (folder / f"{cid}.mp4").write_bytes(b"edite" * 1000)  # same size, other bytes
    done = doorcam("agency", "verify", str(folder))
    assert done.returncode == 1 and "SHA-256" in done.stdout
    assert (folder / "PROBLEMS.json").exists() and not (folder / "VERIFIED.json").exists()


def test_terms_are_signed_into_the_request_and_topics_follow_the_prefix(
        tmp_path: Path, broker: MosquittoBroker) -> None:
    from uplink.protocol.request import RequestTerms, parse_request

    _keys(tmp_path, "pd-key")
    done = doorcam(*_request_args(tmp_path), "--retention-days", "30", "--no-onward-sharing",
                   "--terms-text", "Deleted when the case closes.")
    assert done.returncode == 0, done.stderr
    req = parse_request((tmp_path / "req.json").read_bytes())
    assert req.terms == RequestTerms(30, True, "Deleted when the case closes.")
    half = doorcam(*_request_args(tmp_path), "--no-onward-sharing")
    assert half.returncode == 2 and "--retention-days" in half.stderr

    peer = Peer(broker.port)
    peer.subscribe("town/cams/requests/#")
    done = doorcam("agency", "publish", str(tmp_path / "req.json"), "--port", str(broker.port),
                   "--topic-prefix", "town/cams")
    assert done.returncode == 0, done.stderr
    expected = {topic(c, "town/cams/requests") for c in cells_covering(40.693, -73.9905, 300)}
    assert {peer.expect(t).topic for t in sorted(expected)} == expected
    peer.close()
    bad = doorcam("agency", "publish", str(tmp_path / "req.json"), "--topic-prefix", "a/#")
    assert bad.returncode == 2 and "--topic-prefix" in bad.stderr
