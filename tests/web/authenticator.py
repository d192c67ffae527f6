"""A test authenticator: a software stand-in for a phone's or security key's passkey, for
the server-side passkey tests (no hardware here). It makes an ES256 key and answers
WebAuthn options exactly as the browser's JSON would carry them (base64url fields), and
each answer can be spoiled on purpose: another origin, another rpId, no user verification,
a chosen sign counter or user handle. Encoded by hand (CBOR, COSE, authenticatorData), so
the server's library is checked against an independent encoder."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    if n < 256:
        return bytes([major << 5 | 24, n])
    return bytes([major << 5 | 25]) + struct.pack(">H", n)


def cbor(value: Any) -> bytes:
    """The CBOR of the few types WebAuthn needs (small ints, bytes, text, maps)."""
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        return _head(3, len(value.encode())) + value.encode()
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


class TestAuthenticator:
    """One passkey (ES256) held by a test authenticator."""

    __test__ = False  # not a pytest test class

    def __init__(self, origin: str, rp_id: str) -> None:
        self.origin, self.rp_id = origin, rp_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.counter = 0
        self.user_handle = b""

    def _cose(self) -> bytes:
        n = self.key.public_key().public_numbers()
        return cbor({1: 2, 3: -7, -1: 1, -2: n.x.to_bytes(32, "big"),
                     -3: n.y.to_bytes(32, "big")})

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge,
                           "origin": origin or self.origin, "crossOrigin": False}).encode()

    def create(self, options: dict[str, Any], *, origin: str | None = None,
               rp_id: str | None = None, flags: int = UP | UV) -> dict[str, str]:
        """The answer to navigator.credentials.create({publicKey: options})."""
        self.user_handle = unb64(options["user"]["id"])
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        auth_data = (hashlib.sha256((rp_id or self.rp_id).encode()).digest()
                     + bytes([flags | AT]) + struct.pack(">I", self.counter) + bytes(16)
                     + struct.pack(">H", len(self.credential_id)) + self.credential_id
                     + self._cose())
        attestation = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": b64(self.credential_id), "clientDataJSON": b64(client_data),
                "attestationObject": b64(attestation)}

    def get(self, options: dict[str, Any], *, origin: str | None = None,
            rp_id: str | None = None, flags: int = UP | UV, counter: int | None = None,
            user_handle: bytes | None = None) -> dict[str, str]:
        """The answer to navigator.credentials.get({publicKey: options}); the counter goes
        up by one unless given."""
        self.counter = self.counter + 1 if counter is None else counter
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = (hashlib.sha256((rp_id or self.rp_id).encode()).digest()
                     + bytes([flags]) + struct.pack(">I", self.counter))
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        handle = self.user_handle if user_handle is None else user_handle
        return {"id": b64(self.credential_id), "clientDataJSON": b64(client_data),
                "authenticatorData": b64(auth_data), "signature": b64(signature),
                "userHandle": b64(handle)}
