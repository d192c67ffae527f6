"""What the web app offers of the device's CA (its public certificate only): the Android
download, the iOS configuration profile, its fingerprint, and the address passkeys use
when the config names none."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from config.web import split_public_url

# The CA's certificate beside the device's keys (device.wiring.ca.CaFiles; the web app
# reads only this public file, never the CA's key).
CA_CERT = "device_ca.pem"
PROFILE_TYPE = "application/x-apple-aspen-config"
CRT_TYPE = "application/x-x509-ca-cert"


@dataclass(frozen=True)
class DeviceCa:
    der: bytes
    fingerprint: str  # SHA-256, AB:CD:...
    names: tuple[str, ...]  # what it is limited to
    not_after: float

    @property
    def host(self) -> str | None:
        """The device's .local name the CA vouches for, if any."""
        return next((n for n in self.names if n.endswith(".local")), None)


def load(store_root: Path) -> DeviceCa | None:
    """The device's CA certificate, or None if there is none (or it is unreadable)."""
    try:
        cert = x509.load_pem_x509_certificate((store_root / CA_CERT).read_bytes())
        nc = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return None
    names = tuple(str(g.value).split("/")[0] for g in (nc.permitted_subtrees or []))
    der = cert.public_bytes(serialization.Encoding.DER)
    return DeviceCa(der, ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest()), names,
                    cert.not_valid_after_utc.timestamp())


def issued_by(leaf: Path, ca: DeviceCa) -> bool:
    """Whether the web certificate at `leaf` is the CA's (not the self-signed fallback)."""
    try:
        cert = x509.load_pem_x509_certificate(leaf.read_bytes())
        cert.verify_directly_issued_by(x509.load_der_x509_certificate(ca.der))
    except Exception:  # unreadable, another issuer, a bad signature: not the CA's
        return False
    return True


def default_public_url(ca: DeviceCa, port: int) -> str:
    """https://doorcam-1a2b3c4d.local:8443 for the CA's .local name ('' without one)."""
    if ca.host is None:
        return ""
    url = f"https://{ca.host}" + ("" if port == 443 else f":{port}")
    split_public_url(url)  # the same rules as a configured one
    return url


def profile(ca: DeviceCa, device_id: str) -> bytes:
    """An iOS/macOS configuration profile installing the CA as a trusted root
    (a `com.apple.security.root` payload). Identifiers follow from the CA, so downloading
    it again replaces, rather than duplicates, the installed profile."""
    ident = f"local.doorcam.{device_id}"
    ns = uuid.UUID(bytes=hashlib.sha256(ca.der).digest()[:16])
    root = {
        "PayloadType": "com.apple.security.root",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{ident}.ca",
        "PayloadUUID": str(uuid.uuid5(ns, "root")).upper(),
        "PayloadDisplayName": f"doorcam {device_id} device CA",
        "PayloadDescription": "Lets this phone trust the doorcam's web app on your home "
                              "network (limited to the doorcam's own names).",
        "PayloadCertificateFileName": f"{device_id}-ca.cer",
        "PayloadContent": ca.der,
    }
    doc = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": ident,
        "PayloadUUID": str(uuid.uuid5(ns, "profile")).upper(),
        "PayloadDisplayName": f"doorcam {device_id}",
        "PayloadDescription": f"Trust for the doorcam web app at {ca.host or device_id}. "
                              f"SHA-256 {ca.fingerprint}",
        "PayloadOrganization": "doorcam",
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [root],
    }
    import plistlib  # with its XML parser, only when a phone asks for the profile

    return plistlib.dumps(doc, fmt=plistlib.FMT_XML)
