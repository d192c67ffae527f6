"""`Ceremonies` done by Yubico's fido2 (`Fido2Server`): the only module that imports it.

Works with fido2 1.2 (Debian trixie's python3-fido2) and 2.x: answers reach fido2 in the
WebAuthn JSON form, which both read once 1.x's JSON mapping is switched on.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import fido2.features
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestationConveyancePreference,
    AttestedCredentialData,
    AuthenticatorData,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from device.web.passkeys.ceremony import (
    ALGORITHMS,
    CHALLENGE_S,
    Assertion,
    NewPasskey,
    PasskeyRefused,
    Registration,
    b64url,
)

_json_mapping = getattr(fido2.features, "webauthn_json_mapping", None)
if _json_mapping is not None:  # fido2 1.x: 2.x always speaks JSON
    with contextlib.suppress(ValueError):  # already switched on
        _json_mapping.enabled = True


def _options(options: Any) -> dict[str, Any]:
    """The publicKey member of fido2's options as plain JSON (base64url strings)."""
    public_key = dict(json.loads(json.dumps(dict(options)))["publicKey"])
    public_key["timeout"] = int(CHALLENGE_S * 1000)  # the challenge's life on the server
    return public_key


class Fido2Ceremonies:
    def __init__(self, rp_id: str, origin: str) -> None:
        self.rp_id, self.origin = rp_id, origin
        self._server = Fido2Server(
            PublicKeyCredentialRpEntity(name="doorcam", id=rp_id),
            attestation=AttestationConveyancePreference.NONE,
            verify_origin=lambda given: given == origin)
        self._server.allowed_algorithms = [
            PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=alg)
            for alg in ALGORITHMS]

    def registration(self, account: str, user_handle: bytes, exclude: Sequence[bytes]
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
        options, state = self._server.register_begin(
            PublicKeyCredentialUserEntity(name=account, id=user_handle, display_name=account),
            [PublicKeyCredentialDescriptor(type=PublicKeyCredentialType.PUBLIC_KEY, id=c)
             for c in exclude],
            resident_key_requirement=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED)
        return _options(options), dict(state)

    def register(self, state: Mapping[str, Any], answer: Registration) -> NewPasskey:
        response = {"id": b64url(answer.credential_id), "rawId": b64url(answer.credential_id),
                    "type": "public-key", "clientExtensionResults": {},
                    "response": {"clientDataJSON": b64url(answer.client_data),
                                 "attestationObject": b64url(answer.attestation_object)}}
        try:
            auth_data = self._server.register_complete(dict(state), response)
        except Exception as exc:  # hostile input fails in many ways
            raise PasskeyRefused(_why(exc)) from None
        credential = auth_data.credential_data
        if credential is None:
            raise PasskeyRefused("the answer carries no credential")
        alg = credential.public_key.get(3)
        if alg not in ALGORITHMS:
            raise PasskeyRefused(f"algorithm {alg} is not ES256 or EdDSA")
        if credential.credential_id != answer.credential_id:
            raise PasskeyRefused("the credential id differs from the one the browser named")
        return NewPasskey(credential.credential_id, bytes(credential), auth_data.counter)

    def sign_in(self) -> tuple[dict[str, Any], dict[str, Any]]:
        options, state = self._server.authenticate_begin(
            user_verification=UserVerificationRequirement.REQUIRED)
        return _options(options), dict(state)

    def verify(self, state: Mapping[str, Any], public_key: bytes, answer: Assertion) -> int:
        response = {"id": b64url(answer.credential_id), "rawId": b64url(answer.credential_id),
                    "type": "public-key", "clientExtensionResults": {},
                    "response": {"clientDataJSON": b64url(answer.client_data),
                                 "authenticatorData": b64url(answer.authenticator_data),
                                 "signature": b64url(answer.signature),
                                 "userHandle": b64url(answer.user_handle)}}
        try:
            stored = AttestedCredentialData(public_key)
            self._server.authenticate_complete(dict(state), [stored], response)
            return int(AuthenticatorData(answer.authenticator_data).counter)
        except Exception as exc:  # hostile input fails in many ways
            raise PasskeyRefused(_why(exc)) from None


def _why(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (text or type(exc).__name__)[:200]
