"""What the web app needs of a WebAuthn library, and the browser's answers as bytes.

The browser's JSON (base64url fields, as static/passkeys.js sends them) is read here,
strictly, before any library sees it; the verification itself is `Ceremonies`' job.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

ES256, EDDSA = -7, -8
ALGORITHMS = (ES256, EDDSA)
CHALLENGE_S = 120.0
MAX_FIELD = 16 * 1024
_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


class PasskeyRefused(Exception):
    """A passkey answer that does not verify; the message is one line for the log."""


@dataclass(frozen=True)
class NewPasskey:
    credential_id: bytes
    public_key: bytes  # the library's own encoding, opaque to the rest of the app
    sign_count: int


@dataclass(frozen=True)
class Registration:
    credential_id: bytes
    client_data: bytes
    attestation_object: bytes


@dataclass(frozen=True)
class Assertion:
    credential_id: bytes
    client_data: bytes
    authenticator_data: bytes
    signature: bytes
    user_handle: bytes


class Ceremonies(Protocol):
    """Registration and sign-in for one relying party (host name) and origin.

    A `state` is what must come back to finish the ceremony (its challenge); the caller
    keeps it on the server, single-use and short-lived."""

    def registration(self, account: str, user_handle: bytes, exclude: Sequence[bytes]
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(publicKey options for navigator.credentials.create as JSON, state)."""
        ...

    def register(self, state: Mapping[str, Any], answer: Registration) -> NewPasskey:
        """The new passkey; PasskeyRefused unless the answer verifies (origin, challenge,
        rpId hash, user present and verified, ES256 or EdDSA)."""
        ...

    def sign_in(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(publicKey options for navigator.credentials.get as JSON, state): any
        discoverable passkey of this relying party, user verification required."""
        ...

    def verify(self, state: Mapping[str, Any], public_key: bytes, answer: Assertion) -> int:
        """The authenticator's sign counter; PasskeyRefused unless the assertion verifies
        against `public_key` (origin, challenge, rpId hash, user present and verified,
        signature)."""
        ...


def counter_regressed(stored: int, new: int) -> bool:
    """A sign counter that did not move forward once either is non-zero (WebAuthn's rule):
    a sign of a cloned authenticator. Passkeys that keep no counter (synced ones) report 0
    every time, which is allowed."""
    return (stored != 0 or new != 0) and new <= stored


def _bytes(body: Mapping[str, Any], key: str, *, empty_ok: bool = False) -> bytes:
    value = body.get(key)
    if not isinstance(value, str) or len(value) > MAX_FIELD or not _B64URL.fullmatch(value):
        raise PasskeyRefused(f"{key} is not base64url")
    bare = value.rstrip("=")
    if len(bare) % 4 == 1:
        raise PasskeyRefused(f"{key} is not base64url")
    try:
        data = base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except binascii.Error:
        raise PasskeyRefused(f"{key} is not base64url") from None
    if not data and not empty_ok:
        raise PasskeyRefused(f"{key} is empty")
    return data


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def registration_of(body: object) -> Registration:
    """The browser's answer to navigator.credentials.create, as passkeys.js posts it."""
    if not isinstance(body, Mapping):
        raise PasskeyRefused("the answer is not a JSON object")
    return Registration(_bytes(body, "id"), _bytes(body, "clientDataJSON"),
                        _bytes(body, "attestationObject"))


def assertion_of(body: object) -> Assertion:
    """The browser's answer to navigator.credentials.get, as passkeys.js posts it."""
    if not isinstance(body, Mapping):
        raise PasskeyRefused("the answer is not a JSON object")
    return Assertion(_bytes(body, "id"), _bytes(body, "clientDataJSON"),
                     _bytes(body, "authenticatorData"), _bytes(body, "signature"),
                     _bytes(body, "userHandle", empty_ok=True))
