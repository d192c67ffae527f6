"""Canonical encoding, key files, and signing/verifying generic documents with real Ed25519."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from uplink.errors import RequestRejected
from uplink.protocol.canonical import canonical_bytes
from uplink.protocol.keys import (
    b64url_decode,
    generate_keypair,
    load_private_key,
    load_public_key,
    public_key_from_text,
    public_key_to_text,
    save_private_key,
    save_public_key,
    sign_document,
    verify_document,
)

# RFC 8032 section 7.1, test 1: the secret key and its public key.
RFC_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC_HEX = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
# The known-answer vector printed in docs/protocol.md, for implementations in other languages.
VECTOR_DOC = {"type": "example", "protocol": 1, "name": 'Zoë "Z"', "n": -7,
              "list": [True, None, "a\n"]}
VECTOR_CANONICAL = ('{"kid":"test-1","list":[true,null,"a\\n"],"n":-7,"name":"Zoë \\"Z\\"",'
                    '"protocol":1,"type":"example"}').encode()
VECTOR_SIG = ("jzS-IE4Ngj2qNPQ0-9CCV8lLMRwZDA9q41akWb7xCH7bsu2p_lFhpaIZ66roa1iflbdGi7lRDPh94yBOGN09"
              "Cw")


def test_known_answer_vector() -> None:
    key = Ed25519PrivateKey.from_private_bytes(RFC_SEED)
    assert public_key_from_text(public_key_to_text(key.public_key())) is not None
    assert b64url_decode(public_key_to_text(key.public_key()), 32).hex() == RFC_PUBLIC_HEX
    signed = sign_document(VECTOR_DOC, key, "test-1")
    assert canonical_bytes({k: v for k, v in signed.items() if k != "sig"}) == VECTOR_CANONICAL
    assert signed["sig"] == VECTOR_SIG
    assert verify_document(signed, key.public_key())["name"] == 'Zoë "Z"'


def test_canonical_is_independent_of_key_order_and_escapes_controls() -> None:
    assert canonical_bytes({"b": 1, "a": "\x01é"}) == canonical_bytes({"a": "\x01é", "b": 1})
    assert canonical_bytes({"a": "\x01é"}) == '{"a":"\\u0001é"}'.encode()


@pytest.mark.parametrize("bad", [{"a": 1.0}, {"a": 2**53}, {"A": 1}, {"a": {"b": b"x"}},
                                 {"a": ["\udc00"]}])
def test_canonical_refuses_what_other_languages_could_read_differently(bad: object) -> None:
    with pytest.raises(RequestRejected) as info:
        canonical_bytes(bad)  # type: ignore[arg-type]
    assert info.value.reason == "schema"


def test_private_key_file_is_0600_and_round_trips(tmp_path: Path) -> None:
    private, public = generate_keypair()
    path = tmp_path / "agency.pem"
    save_private_key(private, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = load_private_key(path)
    assert public_key_to_text(loaded.public_key()) == public_key_to_text(public)
    path.chmod(0o644)
    with pytest.raises(PermissionError):
        load_private_key(path)


def test_public_key_file_round_trips(tmp_path: Path) -> None:
    _, public = generate_keypair()
    save_public_key(public, "k-1", tmp_path / "pub.json")
    kid, loaded = load_public_key(tmp_path / "pub.json")
    assert kid == "k-1" and public_key_to_text(loaded) == public_key_to_text(public)


@pytest.mark.parametrize("text", ["", "AAAA", "A" * 42 + "=", "A" * 42 + "B", "+" * 43])
def test_public_key_text_is_strict(text: str) -> None:
    with pytest.raises(ValueError):
        public_key_from_text(text)


def test_signature_must_be_canonical_base64url() -> None:
    private, public = generate_keypair()
    doc = sign_document({"type": "x", "n": 1}, private, "k")
    sig = doc["sig"]
    assert len(sig) == 86
    # The last character carries 4 unused bits; flipping them keeps the bytes, not the text.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    alias = sig[:-1] + alphabet[alphabet.index(sig[-1]) ^ 1]
    assert base64.urlsafe_b64decode(alias + "==") == base64.urlsafe_b64decode(sig + "==")
    for bad in (alias, sig + "=", sig[:-2], "!" + sig[1:]):
        with pytest.raises(RequestRejected) as info:
            verify_document({**doc, "sig": bad}, public)
        assert info.value.reason == "bad_signature"


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True),
                       st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=30),
                       max_size=6),
       st.data())
def test_any_change_to_a_signed_document_breaks_it(doc: dict[str, object], data: st.DataObject
                                                   ) -> None:
    private, public = generate_keypair()
    signed = sign_document({**doc, "type": "t"}, private, "k")
    assert verify_document(signed, public) == {k: v for k, v in signed.items() if k != "sig"}
    key = data.draw(st.sampled_from(sorted(k for k in signed if k != "sig")))
    tampered = {**signed, key: f"{signed[key]}!"}
    with pytest.raises(RequestRejected) as info:
        verify_document(tampered, public)
    assert info.value.reason == "bad_signature"


def test_missing_signature_is_unsigned() -> None:
    _, public = generate_keypair()
    for doc in ({"type": "t"}, {"type": "t", "kid": "k"}, {"type": "t", "sig": "x"},
                {"type": "t", "kid": "k", "sig": 5}):
        with pytest.raises(RequestRejected) as info:
            verify_document(doc, public)
        assert info.value.reason == "unsigned"
