"""RFC 8291 message encryption for Web Push, in one aes128gcm record (RFC 8188).

    ecdh_secret = ECDH(sender ephemeral private key, browser's p256dh public key)
    IKM   = HKDF(salt=auth, ikm=ecdh_secret,
                 info="WebPush: info" 0x00 || ua_public || as_public, 32)     RFC 8291 §3.3
    PRK   = HKDF-Extract(salt, IKM)                                          RFC 8291 §3.4
    CEK   = HKDF-Expand(PRK, "Content-Encoding: aes128gcm" 0x00, 16)         RFC 8188 §2.2
    NONCE = HKDF-Expand(PRK, "Content-Encoding: nonce" 0x00, 12)             RFC 8188 §2.3
    body  = salt(16) || rs(uint32) || idlen(1)=65 || as_public(65)
            || AES-128-GCM(CEK, NONCE, plaintext || 0x02)                    0x02: last record

A fresh ephemeral key and salt are drawn for every message; `salt` and `sender_key` exist only
so the unit test can reproduce RFC 8291 Appendix A byte for byte.
"""

from __future__ import annotations

import os
import struct

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from device.web.push.errors import PayloadTooLarge

RECORD_SIZE = 4096
POINT_BYTES = 65  # uncompressed P-256 point: 0x04 || X || Y
AUTH_BYTES = 16
SALT_BYTES = 16
TAG_BYTES = 16
HEADER_BYTES = SALT_BYTES + 4 + 1 + POINT_BYTES  # 86
# Push services must accept a 4096-byte body (RFC 8291 §4); one record holds it all.
MAX_PLAINTEXT = RECORD_SIZE - HEADER_BYTES - TAG_BYTES - 1  # 3993


def public_point(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The 65-byte uncompressed encoding of a P-256 public key."""
    pub = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return pub.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def load_point(data: bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its uncompressed encoding; ValueError if it is not one."""
    if len(data) != POINT_BYTES or data[0] != 0x04:
        raise ValueError(f"not an uncompressed P-256 point ({len(data)} bytes)")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), data)


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    return HKDFExpand(hashes.SHA256(), length, info).derive(prk)


def derive(ecdh_secret: bytes, auth: bytes, ua_public: bytes, as_public: bytes,
           salt: bytes) -> tuple[bytes, bytes]:
    """(CEK, NONCE) for one message; the receiver derives the same from its side."""
    key_info = b"WebPush: info\x00" + ua_public + as_public
    ikm = HKDF(hashes.SHA256(), 32, salt=auth, info=key_info).derive(ecdh_secret)
    prk = _extract(salt, ikm)
    return (_expand(prk, b"Content-Encoding: aes128gcm\x00", 16),
            _expand(prk, b"Content-Encoding: nonce\x00", 12))


def _extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 §2.2): HMAC-SHA-256 keyed with the salt."""
    h = hmac.HMAC(salt, hashes.SHA256())
    h.update(ikm)
    return h.finalize()


def encrypt(plaintext: bytes, p256dh: bytes, auth: bytes, *, salt: bytes | None = None,
            sender_key: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    """The aes128gcm body of a push to the browser whose keys are `p256dh` and `auth`."""
    if len(plaintext) > MAX_PLAINTEXT:
        raise PayloadTooLarge(f"payload of {len(plaintext)} bytes is over the "
                              f"{MAX_PLAINTEXT}-byte limit of one push")
    if len(auth) != AUTH_BYTES:
        raise ValueError(f"auth secret must be {AUTH_BYTES} bytes, not {len(auth)}")
    ua_key = load_point(p256dh)
    sender_key = sender_key or ec.generate_private_key(ec.SECP256R1())
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    if len(salt) != SALT_BYTES:
        raise ValueError(f"salt must be {SALT_BYTES} bytes, not {len(salt)}")
    as_public = public_point(sender_key)
    cek, nonce = derive(sender_key.exchange(ec.ECDH(), ua_key), auth, p256dh, as_public, salt)
    record = AESGCM(cek).encrypt(nonce, plaintext + b"\x02", None)
    return salt + struct.pack("!IB", RECORD_SIZE, POINT_BYTES) + as_public + record
