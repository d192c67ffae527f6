"""Sealed envelopes: only the named owners open them, and only where they were sealed for."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from uplink.protocol.envelope import (
    EnvelopeError,
    generate_x25519,
    load_x25519_private,
    open_sealed,
    recipients_of,
    save_x25519_private,
    seal,
    x25519_from_text,
    x25519_to_text,
)

TOPIC = "doorcam/v1/owner/porch-1/pending"
SECRET = b'{"request_id": "3f2c8a4e-1b7d-4c1e-9a52-6d0f8e7b1c23", "clip": "x"}'


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def owners() -> dict[str, X25519PrivateKey]:
    return {"alice": generate_x25519(), "bob": generate_x25519()}


def _sealed(owners: dict[str, X25519PrivateKey]) -> bytes:
    return seal(SECRET, {k: v.public_key() for k, v in owners.items()},
                device_id="porch-1", topic=TOPIC)


def test_every_named_owner_opens_it_and_nothing_shows_in_the_clear(
        owners: dict[str, X25519PrivateKey]) -> None:
    sealed = _sealed(owners)
    assert b"request_id" not in sealed and b"3f2c8a4e" not in sealed
    assert sorted(recipients_of(sealed)) == ["alice", "bob"]
    for kid, key in owners.items():
        assert open_sealed(sealed, kid, key, device_id="porch-1", topic=TOPIC) == SECRET


def test_a_wrong_owner_cannot_open_it(owners: dict[str, X25519PrivateKey]) -> None:
    sealed = _sealed(owners)
    mallory = generate_x25519()
    with pytest.raises(EnvelopeError) as info:
        open_sealed(sealed, "mallory", mallory, device_id="porch-1", topic=TOPIC)
    assert info.value.reason == "not_for_us"
    # Mallory claims to be alice: her key does not unwrap alice's envelope.
    with pytest.raises(EnvelopeError) as info:
        open_sealed(sealed, "alice", mallory, device_id="porch-1", topic=TOPIC)
    assert info.value.reason == "tampered"


@pytest.mark.parametrize("where", ["ct", "nonce", "key", "epk", "recipient_kid"])
def test_any_tampering_is_refused(owners: dict[str, X25519PrivateKey], where: str) -> None:
    doc = json.loads(_sealed(owners))
    if where in ("ct", "nonce"):
        raw = bytearray(_unb64(doc[where]))
        raw[0] ^= 1
        doc[where] = _b64(bytes(raw))
    elif where == "recipient_kid":
        doc["to"][0]["kid"], doc["to"][1]["kid"] = doc["to"][1]["kid"], doc["to"][0]["kid"]
    else:
        raw = bytearray(_unb64(doc["to"][0][where]))
        raw[-1] ^= 1
        doc["to"][0][where] = _b64(bytes(raw))
    kid = "alice"
    with pytest.raises(EnvelopeError) as info:
        open_sealed(json.dumps(doc).encode(), kid, owners[kid], device_id="porch-1",
                    topic=TOPIC)
    assert info.value.reason in ("tampered", "not_sealed")


def test_moved_to_another_topic_or_device_is_refused(owners: dict[str, X25519PrivateKey]) -> None:
    sealed = _sealed(owners)
    with pytest.raises(EnvelopeError, match="tampered"):
        open_sealed(sealed, "alice", owners["alice"], device_id="porch-1",
                    topic="doorcam/v1/owner/porch-1/audit")
    doc = json.loads(sealed)
    doc["device_id"] = "porch-2"
    with pytest.raises(EnvelopeError, match="tampered"):
        open_sealed(json.dumps(doc).encode(), "alice", owners["alice"],
                    device_id="porch-2", topic=TOPIC)


@pytest.mark.parametrize("junk", [b"", b"{", b"\xff\xfe", b"[]", b'{"type": "sealed"}',
                                  b"[" * 10000, json.dumps({"pending": []}).encode()])
def test_junk_is_one_clear_refusal(owners: dict[str, X25519PrivateKey], junk: bytes) -> None:
    with pytest.raises(EnvelopeError) as info:
        open_sealed(junk, "alice", owners["alice"], device_id="porch-1", topic=TOPIC)
    assert info.value.reason == "not_sealed" and "\n" not in str(info.value)


def test_keys_round_trip_as_text_and_0600_files(tmp_path: Path) -> None:
    key = generate_x25519()
    text = x25519_to_text(key.public_key())
    assert len(text) == 43 and x25519_to_text(x25519_from_text(text)) == text
    path = tmp_path / "k.x25519.key"
    save_x25519_private(key, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert x25519_to_text(load_x25519_private(path).public_key()) == text
    with pytest.raises(ValueError):
        x25519_from_text(text[:-1])


def test_protocol_true_is_not_protocol_1(owners: dict[str, X25519PrivateKey]) -> None:
    doc = json.loads(_sealed(owners))
    assert open_sealed(json.dumps(doc).encode(), "alice", owners["alice"],
                       device_id="porch-1", topic=TOPIC) == SECRET
    doc["protocol"] = True  # equal to 1 in Python, not in the protocol
    with pytest.raises(EnvelopeError) as info:
        open_sealed(json.dumps(doc).encode(), "alice", owners["alice"], device_id="porch-1",
                    topic=TOPIC)
    assert info.value.reason == "not_sealed"
