"""What the signer needs of the device key, without knowing where the key lives."""

from __future__ import annotations

from typing import Protocol

from common.mediasign.sei import VendorInfo


class MediaSigner(Protocol):
    """Signs SHA-256 digests for the Media Signing SEIs.

    `certificates` is the PEM chain carried in every SEI (leaf first, the trust anchor left
    out, as the specification asks); `max_signature_size` fixes the signature tag's size.
    """

    @property
    def certificates(self) -> bytes: ...

    @property
    def max_signature_size(self) -> int: ...

    @property
    def vendor(self) -> VendorInfo: ...

    def sign_digest(self, digest: bytes) -> bytes: ...
