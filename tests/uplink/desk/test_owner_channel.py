"""The owner channel at the desk: decisions bind the request body; the view is signed, sealed
and carries the agency's own signed request; decisions arrive sealed to the device."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from tests.uplink.desk.conftest import DEVICE, NOW, OWNER_KID, Device
from uplink.audit import AuditKind
from uplink.desk import load_or_create_device_key
from uplink.desk.book import DecisionRow, RequestBook
from uplink.desk.owner_channel import OwnerChannel
from uplink.desk.schema import TABLES
from uplink.errors import DecisionRefused, RequestRejected
from uplink.protocol import canonical_bytes, generate_keypair, sign_document
from uplink.protocol.envelope import generate_x25519, open_sealed, seal
from uplink.protocol.owner import VIEW_TYPE, verify_device_document, view_request

H = 3600
BASE = "doorcam/v1/owner/porch-1"


def _pending(device: Device) -> tuple[str, list[tuple[str, str]]]:
    for i in range(2):
        device.catalog.add(i, NOW - 2 * H + 600 * (i + 1))
    desk = device.desk()
    rid = desk.receive(device.request(), NOW).request_id
    assert rid is not None
    return rid, [(c.clip_id, c.sha256) for c in desk.get(rid).clips]


def test_a_decision_on_another_body_of_the_request_is_refused_and_audited(
        device: Device) -> None:
    rid, clips = _pending(device)
    desk, worker = device.opened[0], device.worker()
    relabelled = hashlib.sha256(b"the same id, relabelled: Fire Department").hexdigest()
    with pytest.raises(DecisionRefused) as info:
        desk.decide_signed(device.owner_decision(rid, clips[:1], request_sha256=relabelled),
                           NOW + 5)
    assert info.value.reason == "request_changed"
    assert desk.audit.find(AuditKind.REJECTED, rid) is not None
    assert json.loads(desk.audit.find(AuditKind.REJECTED, rid).detail)["reason"] == \
        "decision_request_changed"
    assert worker.run_once() == [] and device.receiver.connections == 0
    # Without the binding at all (a tool from before it existed): refused too.
    doc = json.loads(device.owner_decision(rid, clips[:1]))
    unbound = {k: v for k, v in doc.items() if k not in ("sig", "request_sha256")}
    with pytest.raises(DecisionRefused, match="bad_document"):
        desk.decide_signed(json.dumps(sign_document(unbound, device.owner_key,
                                                    OWNER_KID)).encode(), NOW + 5)
    desk.decide_signed(device.owner_decision(rid, clips[:1]), NOW + 5)
    assert desk.decision(rid).request_sha256 == desk.get(rid).body_sha256


def test_the_book_refuses_a_decision_bound_to_another_body(device: Device) -> None:
    rid, clips = _pending(device)
    desk = device.opened[0]
    url = desk.get(rid).upload_url
    with closing(sqlite3.connect(device.tmp / "uplink.sqlite3", isolation_level=None)) as db:
        for body in ("0" * 64, None):
            with pytest.raises(sqlite3.IntegrityError, match="bind the body"):
                db.execute("INSERT INTO decisions (request_id, verdict, destination, clips, "
                           "decided_at, channel, request_sha256) VALUES (?,?,?,?,?,?,?)",
                           (rid, "accept", url, json.dumps([list(clips[0])]), NOW, "sql", body))
        with pytest.raises(sqlite3.IntegrityError, match="signed document is fixed"):
            db.execute("UPDATE requests SET document = x'00' WHERE request_id = ?", (rid,))
    # The device's own channels (CLI, web app) bind it from the row.
    row = desk.accept(rid, None, NOW + 5)
    assert row.request_sha256 == desk.get(rid).body_sha256
    with closing(sqlite3.connect(device.tmp / "uplink.sqlite3", isolation_level=None)) as db, \
            pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE decisions SET request_sha256 = ? WHERE request_id = ?",
                   ("0" * 64, rid))


def _channel(device: Device) -> tuple[OwnerChannel, X25519PrivateKey, Ed25519PrivateKey]:
    key, kid = load_or_create_device_key(device.tmp / "device_key.pem")
    owner_enc, device_enc = generate_x25519(), generate_x25519()
    channel = OwnerChannel(DEVICE.device_id, BASE, key, kid, device_enc,
                           {OWNER_KID: owner_enc.public_key()})
    return channel, owner_enc, key


def test_the_view_is_sealed_signed_and_carries_the_agencys_own_request(
        device: Device) -> None:
    rid, clips = _pending(device)
    desk = device.opened[0]
    channel, owner_enc, key = _channel(device)
    sealed = channel.view(channel.content(desk, NOW), NOW)
    assert sealed is not None
    for secret in (rid, clips[0][0], clips[0][1], "Test", desk.get(rid).body_sha256):
        assert secret.encode() not in sealed
    plain = open_sealed(sealed, OWNER_KID, owner_enc, device_id="porch-1",
                        topic=f"{BASE}/pending")
    view = verify_device_document(plain, key.public_key(), kind=VIEW_TYPE,
                                  device_id="porch-1")
    req, raw = view_request(view["pending"][0], device.registry, NOW)
    assert req.request_id == rid and req.body_sha256 == desk.get(rid).body_sha256
    assert raw == desk.get(rid).document, "the exact bytes the device verified"
    # Signed by anyone else (sealed to the owner all the same): refused.
    forged = sign_document({k: v for k, v in view.items() if k != "sig"},
                           generate_keypair()[0], view["kid"])
    with pytest.raises(RequestRejected, match="bad_signature"):
        verify_device_document(canonical_bytes(forged), key.public_key(),
                               kind=VIEW_TYPE, device_id="porch-1")
    # A relabelled request inside a view: the agency's signature no longer holds.
    doc = json.loads(raw)
    doc["agency"]["name"] = "Fire Department"
    entry = {**view["pending"][0],
             "request": base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()}
    with pytest.raises(RequestRejected):
        view_request(entry, device.registry, NOW)


def test_decisions_must_arrive_sealed_to_the_device(device: Device) -> None:
    rid, clips = _pending(device)
    desk = device.opened[0]
    channel, _, _ = _channel(device)
    plain = device.owner_decision(rid, clips[:1])
    with pytest.raises(DecisionRefused, match="not_sealed"):
        channel.decide(desk, plain, NOW + 5)
    elsewhere = seal(plain, {channel.kid: channel.enc_key.public_key()}, device_id="porch-1",
                     topic=f"{BASE}/pending")
    with pytest.raises(DecisionRefused, match="not_sealed"):
        channel.decide(desk, elsewhere, NOW + 5)
    assert desk.decision(rid) is None
    sealed = seal(plain, {channel.kid: channel.enc_key.public_key()}, device_id="porch-1",
                  topic=f"{BASE}/decisions")
    assert channel.decide(desk, sealed, NOW + 5).verdict == "accept"


def test_no_owner_with_an_encryption_key_gets_nothing(device: Device) -> None:
    _pending(device)
    key, kid = load_or_create_device_key(device.tmp / "device_key.pem")
    channel = OwnerChannel("porch-1", BASE, key, kid, generate_x25519(), {})
    assert channel.view(channel.content(device.opened[0], NOW), NOW) is None
    assert channel.head(1, "0" * 64, NOW) is None


def test_an_older_book_gets_the_columns_and_the_binding_guard(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.executescript(TABLES)  # a book from before documents and bound decisions
        db.execute("INSERT INTO requests VALUES ('a','pending',5,9e9,'h','pd','[]','u','{}',5)")
    book = RequestBook(path)
    try:
        row = book.request("a")
        assert row is not None and row.document is None
        with book.transaction() as db, pytest.raises(sqlite3.IntegrityError, match="bind"):
            book.add_decision(db, DecisionRow("a", "decline", "u", (), 6, "cli", (), None,
                                              None, "x" * 64), None)
        with book.transaction() as db:
            book.add_decision(db, DecisionRow("a", "decline", "u", (), 6, "cli", (), None,
                                              None, "h"), None)
        decision = book.decision("a")
        assert decision is not None and decision.request_sha256 == "h"
    finally:
        book.close()


def test_protocol_true_is_not_protocol_1(device: Device) -> None:
    """JSON's true equals 1 in Python: a decision, view or head saying `"protocol": true` is
    not a protocol-1 document, signed or not."""
    rid, clips = _pending(device)
    desk = device.opened[0]
    with pytest.raises(DecisionRefused, match="bad_document"):
        desk.decide_signed(device.owner_decision(rid, clips[:1], protocol=True), NOW + 5)
    assert desk.decision(rid) is None
    entry = list(desk.audit.entries())[-1]
    assert (entry.kind, entry.request_id) == (AuditKind.REJECTED, rid)
    assert desk.decide_signed(device.owner_decision(rid, clips[:1]), NOW + 5).verdict == "accept"
    key = Ed25519PrivateKey.generate()
    for protocol, ok in ((1, True), (True, False)):
        doc = sign_document({"type": VIEW_TYPE, "protocol": protocol, "device_id": "porch-1"},
                            key, "dev")
        plain = json.dumps(doc).encode()
        if ok:
            assert verify_device_document(plain, key.public_key(), kind=VIEW_TYPE,
                                          device_id="porch-1")["protocol"] == 1
        else:
            with pytest.raises(RequestRejected, match="not a protocol-1"):
                verify_device_document(plain, key.public_key(), kind=VIEW_TYPE,
                                       device_id="porch-1")
