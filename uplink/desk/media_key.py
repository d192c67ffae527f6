"""The device's video signing key (ONVIF Media Signing) and its certificates.

The specification's signers use RSA or ECDSA keys behind X.509 certificates (OpenSSL's
one-shot digest signing; Ed25519 cannot sign a precomputed digest), so video is signed with
an ECDSA P-256 key. Its certificate is issued by the device's Ed25519 key, whose own
self-signed certificate is the trust anchor: a validator trusting that anchor, or an agency
holding the `device_key` of a manifest, knows the video came from the same device as the
evidence manifest. Files sit beside the device key: `<stem>.media.pem` (the private key,
0600), `<stem>.media-cert.pem` and `<stem>.anchor.pem`.

The same key signs the Content Credentials (C2PA) of shared clips, under a certificate of its
own (`<stem>.c2pa-cert.pem`) issued by the same anchor: C2PA refuses self-signed signers and
asks for an extended key usage the video certificate does not carry.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from common import write_atomic
from common.keyfile import read_key_file
from common.mediasign.sei import VendorInfo

MAX_SIGNATURE_SIZE = 72  # DER ECDSA P-256, as OpenSSL's EVP_PKEY_size reports it
VALID_YEARS = 30
# C2PA's signer profile asks for one of a few extended key usages; document signing names
# the job, e-mail protection is the one every C2PA validator's default list accepts.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")


@dataclass(frozen=True)
class MediaKeyFiles:
    key: Path
    cert: Path
    anchor: Path
    credentials: Path

    @classmethod
    def beside(cls, device_key: Path) -> MediaKeyFiles:
        d = Path(device_key)
        return cls(d.with_name(d.stem + ".media.pem"), d.with_name(d.stem + ".media-cert.pem"),
                   d.with_name(d.stem + ".anchor.pem"), d.with_name(d.stem + ".c2pa-cert.pem"))


@dataclass(frozen=True)
class CredentialsKey:
    """What signs a shared clip's Content Credentials: the video key (PEM, PKCS#8) and its
    C2PA certificate followed by the device's anchor certificate."""

    key_pem: bytes
    chain_pem: bytes


class DeviceMediaSigner:
    """The `MediaSigner` seam of capture, backed by the device's P-256 video key."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert_pem: bytes, anchor_pem: bytes,
                 vendor: VendorInfo) -> None:
        self._key = key
        self._certs = cert_pem
        self.anchor_pem = anchor_pem
        self._vendor = vendor

    @property
    def certificates(self) -> bytes:
        return self._certs

    @property
    def max_signature_size(self) -> int:
        return MAX_SIGNATURE_SIZE

    @property
    def vendor(self) -> VendorInfo:
        return self._vendor

    def sign_digest(self, digest: bytes) -> bytes:
        return self._key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))


def anchor_certificate(device_key: Ed25519PrivateKey, name: str) -> x509.Certificate:
    """The device key's self-signed CA certificate (the trust anchor validators are given)."""
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "doorcam"),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"{name} device key")])
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(device_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365 * VALID_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(device_key, None))


def _signer_builder(key: ec.EllipticCurvePrivateKey, anchor: x509.Certificate,
                    common_name: str) -> x509.CertificateBuilder:
    """An end-entity certificate for the video key, issued under the device's anchor."""
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "doorcam"),
                         x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(anchor.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365 * VALID_YEARS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True))


def _leaf_certificate(key: ec.EllipticCurvePrivateKey, anchor: x509.Certificate,
                      device_key: Ed25519PrivateKey, name: str) -> x509.Certificate:
    return _signer_builder(key, anchor, f"{name} video signing").sign(device_key, None)


def _credentials_certificate(key: ec.EllipticCurvePrivateKey, anchor: x509.Certificate,
                             device_key: Ed25519PrivateKey, name: str) -> x509.Certificate:
    return (_signer_builder(key, anchor, f"{name} content credentials")
            .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING,
                                                  ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                device_key.public_key()), critical=False)
            .sign(device_key, None))


def load_or_create_credentials_key(device_key: Ed25519PrivateKey, device_key_path: Path,
                                   name: str) -> CredentialsKey:
    """The Content Credentials signer's key and chain; the certificate is made on first use
    (also on a device whose video key is older)."""
    load_or_create_media_signer(device_key, device_key_path, name)
    files = MediaKeyFiles.beside(device_key_path)
    key_pem, anchor_pem = read_key_file(files.key), files.anchor.read_bytes()
    if not files.credentials.exists():
        key = serialization.load_pem_private_key(key_pem, None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{files.key} is not an ECDSA key")
        cert = _credentials_certificate(key, x509.load_pem_x509_certificate(anchor_pem),
                                        device_key, name)
        write_atomic(files.credentials, cert.public_bytes(serialization.Encoding.PEM),
                     mode=0o644)
    return CredentialsKey(key_pem, files.credentials.read_bytes() + anchor_pem)


def load_or_create_media_signer(device_key: Ed25519PrivateKey, device_key_path: Path,
                                name: str, firmware: str = "") -> DeviceMediaSigner:
    """The video signer; its key (0600) and certificates are created on first use."""
    files = MediaKeyFiles.beside(device_key_path)
    if files.key.exists() and files.cert.exists() and files.anchor.exists():
        loaded = serialization.load_pem_private_key(read_key_file(files.key), None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{files.key} is not an ECDSA key")
        key = loaded
        cert_pem, anchor_pem = files.cert.read_bytes(), files.anchor.read_bytes()
    else:
        files.key.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        anchor = anchor_certificate(device_key, name)
        leaf = _leaf_certificate(key, anchor, device_key, name)
        anchor_pem = anchor.public_bytes(serialization.Encoding.PEM)
        cert_pem = leaf.public_bytes(serialization.Encoding.PEM)
        write_atomic(files.key, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()), mode=0o600)
        write_atomic(files.anchor, anchor_pem, mode=0o644)
        write_atomic(files.cert, cert_pem, mode=0o644)
    vendor = VendorInfo(firmware_version=firmware, serial_number=name, manufacturer="doorcam")
    return DeviceMediaSigner(key, cert_pem, anchor_pem, vendor)
