"""The device's own keys: Ed25519 signs evidence manifests and what it tells its owners;
X25519 opens the decisions owners seal to it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from uplink.protocol import generate_keypair, load_private_key, public_key_to_text, save_private_key
from uplink.protocol.envelope import generate_x25519, load_x25519_private, save_x25519_private


def load_or_create_device_key(path: Path) -> tuple[Ed25519PrivateKey, str]:
    """(key, kid); created with mode 0600 on first use. The kid names the key's fingerprint."""
    path = Path(path)
    if path.exists():
        key = load_private_key(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key, _ = generate_keypair()
        save_private_key(key, path)
    return key, device_kid(key)


def device_kid(key: Ed25519PrivateKey) -> str:
    text = public_key_to_text(key.public_key())
    return "device-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def device_enc_key_path(device_key: Path) -> Path:
    """The device's X25519 key (owners seal their decisions to it), beside its signing key."""
    device_key = Path(device_key)
    return device_key.with_name(device_key.stem + ".x25519.pem")


def load_or_create_device_enc_key(path: Path) -> X25519PrivateKey:
    path = Path(path)
    if path.exists():
        return load_x25519_private(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_x25519()
    save_x25519_private(key, path)
    return key
