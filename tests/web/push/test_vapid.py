"""The device's VAPID key file and the header it signs."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from device.web.push.b64 import b64url_decode
from device.web.push.vapid import VapidKey, audience


def test_made_once_0600_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "state" / "vapid_key.pem"
    key = VapidKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert VapidKey.load_or_create(path).public_key() == key.public_key()
    raw = b64url_decode(key.public_key())
    assert len(raw) == 65 and raw[0] == 4
    assert [p.name for p in path.parent.iterdir()] == ["vapid_key.pem"], "no temp file left"


def test_racing_creators_agree_on_one_key(tmp_path: Path) -> None:
    path = tmp_path / "vapid_key.pem"
    keys: list[str] = []
    threads = [threading.Thread(target=lambda: keys.append(
        VapidKey.load_or_create(path).public_key())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "vapid_key.pem"
    VapidKey.load_or_create(path)
    os.chmod(path, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        VapidKey.load_or_create(path)


@pytest.mark.parametrize(("endpoint", "aud"), [
    ("https://fcm.googleapis.com/fcm/send/abc", "https://fcm.googleapis.com"),
    ("https://Push.Example.com:443/x?y", "https://push.example.com"),
    ("https://push.example.com:8443/x", "https://push.example.com:8443"),
    ("http://127.0.0.1:9000/push/t", "http://127.0.0.1:9000"),
    ("http://[::1]:9000/push/t", "http://[::1]:9000"),
])
def test_audience_is_the_endpoint_origin(endpoint: str, aud: str) -> None:
    assert audience(endpoint) == aud


def test_header_carries_a_verifiable_es256_jwt(tmp_path: Path) -> None:
    key = VapidKey.load_or_create(tmp_path / "k.pem")
    now = time.time()
    header = key.authorization("https://push.example.com/x/y", "mailto:me@example.org", now)
    scheme, _, rest = header.partition(" ")
    assert scheme == "vapid"
    t_part, k_part = rest.split(", ")
    assert k_part == f"k={key.public_key()}"
    head, claims, sig = t_part.removeprefix("t=").split(".")
    assert json.loads(b64url_decode(head)) == {"typ": "JWT", "alg": "ES256"}
    assert json.loads(b64url_decode(claims)) == {
        "aud": "https://push.example.com", "exp": int(now) + 12 * 3600,
        "sub": "mailto:me@example.org"}
    raw = b64url_decode(sig)
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), b64url_decode(key.public_key()))
    public.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                       int.from_bytes(raw[32:], "big")),
                  f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(ValueError, match="24 hours"):
        key.token("https://push.example.com/x", "", now, lifetime_s=25 * 3600)
