"""The browser's side of Web Push, written from the RFCs independently of device.web.push:
a subscription key pair and auth secret, and decryption of an aes128gcm body (RFC 8291 §3.4,
RFC 8188 §2)."""

from __future__ import annotations

import base64
import os
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hmac(key: bytes, data: bytes) -> bytes:
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    return h.finalize()


@dataclass
class Browser:
    """One push subscription as a browser holds it."""

    key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls) -> Browser:
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    @property
    def p256dh(self) -> bytes:
        return self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def subscription(self, endpoint: str) -> dict[str, Any]:
        """What `PushSubscription.toJSON()` gives the page."""
        return {"endpoint": endpoint, "expirationTime": None,
                "keys": {"p256dh": _b64(self.p256dh), "auth": _b64(self.auth)}}

    def decrypt(self, body: bytes) -> bytes:
        salt, (rs, idlen) = body[:16], struct.unpack("!IB", body[16:21])
        sender = body[21:21 + idlen]
        record = body[21 + idlen:]
        assert idlen == 65 and rs >= 18 and len(record) <= rs, (rs, idlen, len(record))
        secret = self.key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), sender))
        # HKDF written out (RFC 5869): extract = HMAC(salt, ikm); expand one block = T(1).
        ikm = _hmac(_hmac(self.auth, secret), b"WebPush: info\x00" + self.p256dh + sender + b"\x01")
        prk = _hmac(salt, ikm)
        cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
        nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
        padded = AESGCM(cek).decrypt(nonce, record, None)
        content = padded.rstrip(b"\x00")
        assert content.endswith(b"\x02"), "the only record must end with delimiter 0x02"
        return content[:-1]
