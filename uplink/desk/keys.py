"""The device's own Ed25519 key, which signs evidence manifests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from uplink.protocol import generate_keypair, load_private_key, public_key_to_text, save_private_key


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
