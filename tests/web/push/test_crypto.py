"""RFC 8291 encryption: Appendix A's published example byte for byte, and its limits."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from device.web.push.b64 import b64url, b64url_decode
from device.web.push.crypto import MAX_PLAINTEXT, encrypt, public_point
from device.web.push.errors import PayloadTooLarge
from tests.web.push.browser import Browser

# RFC 8291 Appendix A: the application server's (sender's) ephemeral key, the user agent's
# (browser's) keys and auth secret, the salt, the plaintext and the whole encrypted body.
PLAINTEXT = b"When I grow up, I want to be a watermelon"
AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
AS_PUBLIC = ("BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl"
             "7A8")
UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
UA_PUBLIC = ("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIA"
             "iw4")
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
BODY = ("DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmY"
        "WAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexS"
        "gSxsj_Qulcy4a-fN")


def _key(private: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64url_decode(private), "big"), ec.SECP256R1())


def test_rfc8291_appendix_a_byte_for_byte() -> None:
    sender = _key(AS_PRIVATE)
    assert b64url(public_point(sender)) == AS_PUBLIC
    assert b64url(public_point(_key(UA_PRIVATE))) == UA_PUBLIC
    body = encrypt(PLAINTEXT, b64url_decode(UA_PUBLIC), b64url_decode(AUTH),
                   salt=b64url_decode(SALT), sender_key=sender)
    assert b64url(body) == BODY


def test_the_test_browser_reads_the_rfc_example() -> None:
    """The decryption the test push service uses is itself checked against the RFC."""
    browser = Browser(_key(UA_PRIVATE), b64url_decode(AUTH))
    assert browser.decrypt(b64url_decode(BODY)) == PLAINTEXT


def test_every_message_has_a_fresh_key_and_salt() -> None:
    browser = Browser.new()
    one = encrypt(b"same", browser.p256dh, browser.auth)
    two = encrypt(b"same", browser.p256dh, browser.auth)
    assert one[:16] != two[:16] and one[21:86] != two[21:86]
    assert browser.decrypt(one) == browser.decrypt(two) == b"same"


def test_largest_payload_fits_one_4096_byte_body_and_one_more_byte_is_refused() -> None:
    browser = Browser.new()
    body = encrypt(b"x" * MAX_PLAINTEXT, browser.p256dh, browser.auth)
    assert len(body) == 4096
    assert browser.decrypt(body) == b"x" * MAX_PLAINTEXT
    with pytest.raises(PayloadTooLarge):
        encrypt(b"x" * (MAX_PLAINTEXT + 1), browser.p256dh, browser.auth)


def test_a_key_that_is_not_a_p256_point_is_refused() -> None:
    browser = Browser.new()
    bad = b"\x04" + b"\x00" * 64
    with pytest.raises(ValueError):
        encrypt(b"hi", bad, browser.auth)
