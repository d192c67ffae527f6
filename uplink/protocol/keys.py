"""Ed25519 keys as files, and signing/verifying any JSON object that carries `sig` and `kid`.

The signature covers `canonical_bytes(doc without "sig")`, so `kid` is signed too. Which kind
of document it is (request, registry, ...) is the signed `type` field, so a signature made
for one kind can never be replayed as another.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from common import write_atomic
from common.keyfile import read_key_file
from uplink.errors import RequestRejected
from uplink.protocol.canonical import JsonObject, canonical_bytes

KID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(raw: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, length: int) -> bytes:
    """Strict inverse of `b64url_encode` for exactly `length` bytes; ValueError otherwise."""
    if not isinstance(text, str) or not _B64URL_RE.fullmatch(text):
        raise ValueError("not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
    # Re-encoding rejects non-zero padding bits, so each value has exactly one spelling.
    if len(raw) != length or b64url_encode(raw) != text:
        raise ValueError(f"not {length} bytes of canonical base64url")
    return raw


def generate_keypair() -> tuple[Ed25519PrivateKey, Ed25519PublicKey]:
    """A fresh Ed25519 key pair."""
    private = Ed25519PrivateKey.generate()
    return private, private.public_key()


def public_key_to_text(key: Ed25519PublicKey) -> str:
    """The raw 32-byte public key as base64url (the form used in registries and configs)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b64url_encode(raw)


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """Inverse of `public_key_to_text`; ValueError if it is not a 32-byte key."""
    return Ed25519PublicKey.from_public_bytes(b64url_decode(text, 32))


def save_private_pem(key: Ed25519PrivateKey | X25519PrivateKey, path: Path) -> None:
    """Write a PKCS#8 PEM file readable only by its owner (mode 0600)."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    write_atomic(Path(path), pem, 0o600)


def load_private_pem(path: Path) -> PrivateKeyTypes:
    """A private key from a PEM file that only its owner, this user, can read
    (`common.keyfile`; PermissionError otherwise)."""
    return serialization.load_pem_private_key(read_key_file(Path(path)), password=None)


def save_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write a PKCS#8 PEM file readable only by its owner (mode 0600)."""
    save_private_pem(key, path)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Load a key written by `save_private_key`; refuses files others can read."""
    key = load_private_pem(path)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def save_public_key(key: Ed25519PublicKey, kid: str, path: Path) -> None:
    """Write `{"kid": ..., "public_key": <base64url>}` as JSON."""
    doc = {"kid": kid, "public_key": public_key_to_text(key)}
    write_atomic(Path(path), json.dumps(doc).encode("utf-8") + b"\n", 0o644)


def load_public_key(path: Path) -> tuple[str, Ed25519PublicKey]:
    """Read a file written by `save_public_key`: (kid, key)."""
    doc = json.loads(Path(path).read_text("utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("kid"), str):
        raise ValueError(f"{path} is not a public key file")
    return doc["kid"], public_key_from_text(doc.get("public_key", ""))


def sign_document(doc: Mapping[str, Any], private_key: Ed25519PrivateKey, kid: str) -> JsonObject:
    """A copy of `doc` with `kid` set and `sig` over the canonical encoding of the rest."""
    if not KID_RE.fullmatch(kid):
        raise ValueError(f"bad key id {kid!r}")
    body: JsonObject = {k: v for k, v in doc.items() if k != "sig"}
    body["kid"] = kid
    signature = private_key.sign(canonical_bytes(body))
    return {**body, "sig": b64url_encode(signature)}


def verify_document(doc: Mapping[str, Any], public_key: Ed25519PublicKey) -> JsonObject:
    """The signed body (`doc` without `sig`, with `kid`) if the signature verifies.

    Raises `RequestRejected` with "unsigned" or "bad_signature", never anything else.
    """
    sig, kid = doc.get("sig"), doc.get("kid")
    if not isinstance(sig, str) or not isinstance(kid, str) or not sig or not kid:
        raise RequestRejected("unsigned", "missing sig or kid")
    try:
        raw = b64url_decode(sig, 64)
    except ValueError as exc:
        raise RequestRejected("bad_signature", f"sig: {exc}") from None
    body: JsonObject = {k: v for k, v in doc.items() if k != "sig"}
    try:
        public_key.verify(raw, canonical_bytes(body))
    except InvalidSignature:
        raise RequestRejected("bad_signature", f"signature does not verify (kid {kid[:64]!r})"
                              ) from None
    return body
