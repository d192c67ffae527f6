"""RFC 8292 VAPID: the device's P-256 key and the `Authorization: vapid` header it signs.

The key is made on first use and kept in the web state directory, mode 0600; its public half
(`public_key()`, base64url of the uncompressed point) is the `applicationServerKey` a browser
subscribes with, so a push service accepts pushes to that subscription only when signed by
this key. Losing or replacing the file silently orphans every subscription; it is never
overwritten.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from device.web.push.b64 import b64url
from device.web.push.crypto import public_point
from uplink.protocol.urls import DEFAULT_PORTS, parse_destination

TOKEN_LIFETIME_S = 12 * 3600  # RFC 8292 §2: exp no more than 24 hours ahead
_HEADER = b64url(json.dumps({"typ": "JWT", "alg": "ES256"}, separators=(",", ":")).encode())


def audience(endpoint: str) -> str:
    """The origin of a push endpoint (scheme://host[:port]), the JWT's `aud` claim."""
    where = parse_destination(endpoint)
    host = f"[{where.host}]" if ":" in where.host else where.host
    port = "" if where.port == DEFAULT_PORTS[where.scheme] else f":{where.port}"
    return f"{where.scheme}://{host}{port}"


class VapidKey:
    """The device's application server key."""

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("a VAPID key must be on P-256")
        self._key = key
        self._public = b64url(public_point(key))

    @classmethod
    def load_or_create(cls, path: Path) -> VapidKey:
        """The key at `path`, made (mode 0600) if there is none; never replaces a file."""
        path = Path(path)
        if not path.exists():
            _create(path, ec.generate_private_key(ec.SECP256R1()))
        if path.stat().st_mode & 0o077:
            raise PermissionError(f"{path} is readable by others; chmod 600 it")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} is not an EC private key")
        return cls(key)

    def public_key(self) -> str:
        """base64url of the 65-byte uncompressed point: the browser's applicationServerKey."""
        return self._public

    def token(self, endpoint: str, contact: str, now: float,
              lifetime_s: int = TOKEN_LIFETIME_S) -> str:
        """An ES256 JWT for the endpoint's push service, valid `lifetime_s` from `now`."""
        if not 0 < lifetime_s <= 24 * 3600:
            raise ValueError("a VAPID token may live at most 24 hours")
        claims: dict[str, object] = {"aud": audience(endpoint), "exp": int(now) + lifetime_s}
        if contact:
            claims["sub"] = contact
        signing_input = f"{_HEADER}.{b64url(json.dumps(claims, separators=(',', ':')).encode())}"
        der = self._key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)  # JWS wants the raw 64-byte r || s (RFC 7518 §3.4)
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def authorization(self, endpoint: str, contact: str, now: float) -> str:
        """The `Authorization` header value: `vapid t=<jwt>, k=<public key>` (RFC 8292 §3)."""
        return f"vapid t={self.token(endpoint, contact, now)}, k={self._public}"


def _create(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """Write the key to a 0600 temporary file, then link it into place: if another process
    made one meanwhile, theirs stays and ours is discarded."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
