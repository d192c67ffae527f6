"""Sealed envelopes: what the device and its owners say to each other over a broker.

A sealed message is readable only by the holders of the X25519 keys it names. The payload is
encrypted once with a random content key (ChaCha20-Poly1305); for each recipient the content
key is wrapped with a key derived (HKDF-SHA256) from X25519 between a fresh ephemeral key and
the recipient's key. Both AADs bind the device id and the topic, and each wrap also its
recipient's kid, so a sealed message moved to another topic, device or recipient does not
open. Sealing gives confidentiality only: anyone can seal to a public key, so what is inside
must be a document signed by its author (docs/protocol.md, "Owner channel").
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from uplink.errors import RequestRejected, UplinkError
from uplink.protocol.canonical import canonical_bytes, parse_json
from uplink.protocol.fields import is_version
from uplink.protocol.keys import (
    KID_RE,
    b64url_decode,
    b64url_encode,
    load_private_pem,
    save_private_pem,
)

SEALED_TYPE: Final = "sealed"
MAX_SEALED_BYTES: Final = 4 * 1024 * 1024
MAX_RECIPIENTS: Final = 64
_INFO: Final = b"doorcam sealed v1"
_NONCE: Final = 12
_KEY: Final = 32
_TAG: Final = 16


class EnvelopeError(UplinkError):
    """A sealed message that cannot be opened; `reason` is stable, `detail` for humans."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def generate_x25519() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def x25519_to_text(key: X25519PublicKey) -> str:
    return b64url_encode(key.public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw))


def x25519_from_text(text: str) -> X25519PublicKey:
    """ValueError unless `text` is 32 bytes of canonical base64url."""
    return X25519PublicKey.from_public_bytes(b64url_decode(text, _KEY))


def save_x25519_private(key: X25519PrivateKey, path: Path) -> None:
    """PKCS#8 PEM, mode 0600."""
    save_private_pem(key, path)


def load_x25519_private(path: Path) -> X25519PrivateKey:
    """Refuses files others can read, and keys of another kind (ValueError, OSError)."""
    key = load_private_pem(path)
    if not isinstance(key, X25519PrivateKey):
        raise ValueError(f"{path} is not an X25519 private key")
    return key


def _aad(device_id: str, topic: str, **more: str) -> bytes:
    return canonical_bytes({"type": SEALED_TYPE, "device_id": device_id, "topic": topic,
                            **more})


def _kek(shared: bytes, epk: bytes, recipient: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=_KEY, salt=epk + recipient,
                info=_INFO).derive(shared)


def _raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def seal(plaintext: bytes, recipients: Mapping[str, X25519PublicKey], *, device_id: str,
         topic: str) -> bytes:
    """The sealed message (JSON bytes) for every recipient, keyed by kid."""
    if not recipients or len(recipients) > MAX_RECIPIENTS:
        raise ValueError(f"a sealed message needs 1..{MAX_RECIPIENTS} recipients")
    cek = ChaCha20Poly1305.generate_key()
    nonce = os.urandom(_NONCE)
    body = ChaCha20Poly1305(cek).encrypt(nonce, plaintext, _aad(device_id, topic))
    to = []
    for kid, public in sorted(recipients.items()):
        if not KID_RE.fullmatch(kid):
            raise ValueError(f"bad recipient key id {kid!r}")
        eph = X25519PrivateKey.generate()
        epk = _raw(eph.public_key())
        kek = _kek(eph.exchange(public), epk, _raw(public))
        wrap_nonce = os.urandom(_NONCE)
        wrapped = ChaCha20Poly1305(kek).encrypt(
            wrap_nonce, cek, _aad(device_id, topic, kid=kid, epk=b64url_encode(epk)))
        to.append({"kid": kid, "epk": b64url_encode(epk), "nonce": b64url_encode(wrap_nonce),
                   "key": b64url_encode(wrapped)})
    doc = {"type": SEALED_TYPE, "protocol": 1, "device_id": device_id,
           "nonce": b64url_encode(nonce), "ct": b64url_encode(body), "to": to}
    return json.dumps(doc, separators=(",", ":")).encode()


def recipients_of(payload: bytes) -> list[str]:
    """The kids a sealed message is addressed to (EnvelopeError if it is not one)."""
    return [r["kid"] for r in _parse(payload)["to"]]


def open_sealed(payload: bytes, kid: str, key: X25519PrivateKey, *, device_id: str,
                topic: str) -> bytes:
    """The plaintext, or EnvelopeError: not_sealed, not_for_us or tampered."""
    doc = _parse(payload)
    if doc["device_id"] != device_id:
        raise EnvelopeError("tampered", "sealed for another device")
    mine = [r for r in doc["to"] if r["kid"] == kid]
    if not mine:
        raise EnvelopeError("not_for_us", f"not sealed to key {kid!r}")
    r = mine[0]
    try:
        epk = b64url_decode(r["epk"], _KEY)
        wrap_nonce = b64url_decode(r["nonce"], _NONCE)
        wrapped = b64url_decode(r["key"], _KEY + _TAG)
        nonce = b64url_decode(doc["nonce"], _NONCE)
        body = _b64_any(doc["ct"])
    except ValueError as exc:
        raise EnvelopeError("not_sealed", f"bad field encoding ({exc})") from None
    try:
        shared = key.exchange(X25519PublicKey.from_public_bytes(epk))
        kek = _kek(shared, epk, _raw(key.public_key()))
        cek = ChaCha20Poly1305(kek).decrypt(
            wrap_nonce, wrapped, _aad(device_id, topic, kid=kid, epk=r["epk"]))
        return ChaCha20Poly1305(cek).decrypt(nonce, body, _aad(device_id, topic))
    except (InvalidTag, ValueError):
        raise EnvelopeError("tampered", "does not open with this key here (altered, "
                            "moved from another topic or device, or sealed to another key)"
                            ) from None


def _b64_any(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64url")
    n = len(text) * 3 // 4
    return b64url_decode(text, n)


def _parse(payload: bytes) -> dict[str, Any]:
    try:
        doc = parse_json(payload, max_bytes=MAX_SEALED_BYTES, max_depth=3)
    except RequestRejected as exc:
        raise EnvelopeError("not_sealed", exc.detail[:200]) from None
    if (set(doc) != {"type", "protocol", "device_id", "nonce", "ct", "to"}
            or doc["type"] != SEALED_TYPE or not is_version(doc["protocol"])
            or not isinstance(doc["device_id"], str) or not isinstance(doc["to"], list)
            or not 0 < len(doc["to"]) <= MAX_RECIPIENTS):
        raise EnvelopeError("not_sealed", "not a sealed message (signed and encrypted by "
                            "the device)")
    for r in doc["to"]:
        if not (isinstance(r, dict) and set(r) == {"kid", "epk", "nonce", "key"}
                and all(isinstance(v, str) for v in r.values())):
            raise EnvelopeError("not_sealed", "a recipient entry is malformed")
    return doc
