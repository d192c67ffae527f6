"""The device's own certificate authority: name-constrained to this device's names and
addresses, it issues the web app's TLS certificate, so a phone that installed it once trusts
the app (service worker, Web Push, passkeys) and nothing else.

The CA key lives in the store beside the device's other keys (0600, the service's user) and
is opened only by the issuing step (`doorcam ca`), never by the web process, which reads
only the public certificate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from common.durable import write_atomic
from common.keyfile import read_key_file

CA_DAYS = 3650
# Apple refuses server certificates valid longer than 825 days, even from a CA the owner
# installed; a leaf with less than RENEW_DAYS left is issued again.
LEAF_DAYS = 820
RENEW_DAYS = 60
LOOPBACK = ("127.0.0.1", "::1")

_LABEL = re.compile(r"[^a-z0-9-]+")


def mdns_name(device_id: str) -> str:
    """The name the device is announced by on the LAN: `doorcam-1a2b3c4d.local` for the
    device id `doorcam-1a2b3c4d` (lower case, one DNS label)."""
    label = _LABEL.sub("-", device_id.lower()).strip("-")[:63].strip("-") or "doorcam"
    if not label.startswith("doorcam"):
        label = f"doorcam-{label}"[:63].strip("-")
    return f"{label}.local"


@dataclass(frozen=True)
class CaFiles:
    key: Path   # the CA's private key: the issuing step only
    cert: Path  # the CA's certificate: what phones install, read by the web app

    @classmethod
    def of(cls, store_root: Path) -> CaFiles:
        return cls(store_root / "device_ca.key", store_root / "device_ca.pem")


@dataclass(frozen=True)
class Names:
    """What the CA may vouch for: host names and IP addresses, each exactly."""

    dns: tuple[str, ...]
    ips: tuple[str, ...]

    @classmethod
    def for_device(cls, device_id: str, lan_addresses: list[str]) -> Names:
        ips = [*LOOPBACK, *(a for a in lan_addresses if a not in LOOPBACK)]
        return cls((mdns_name(device_id), "localhost"),
                   tuple(str(ipaddress.ip_address(a)) for a in dict.fromkeys(ips)))

    def within(self, permitted: Names) -> Names:
        """Only the names `permitted` covers: a leaf naming anything outside its CA's
        constraints is refused by browsers for every name it holds."""
        return Names(tuple(d for d in self.dns if d in permitted.dns),
                     tuple(i for i in self.ips if i in permitted.ips))


def _host_network(address: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    ip = ipaddress.ip_address(address)
    return ipaddress.ip_network(f"{ip}/{ip.max_prefixlen}")


def fingerprint_der(der: bytes) -> str:
    """SHA-256 of a certificate, as phones and browsers show it: AB:CD:..."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def permitted_names(ca: x509.Certificate) -> Names:
    """The exact names and addresses a CA made here is constrained to."""
    nc = ca.extensions.get_extension_for_class(x509.NameConstraints).value
    subtrees = nc.permitted_subtrees or []
    return Names(tuple(g.value for g in subtrees if isinstance(g, x509.DNSName)),
                 tuple(str(g.value).split("/")[0] for g in subtrees
                       if isinstance(g, x509.IPAddress)))


def make_ca(files: CaFiles, names: Names, device_id: str,
            now: dt.datetime | None = None) -> x509.Certificate:
    """A new CA (ECDSA P-256), constrained (critical) to `names`, replacing any old one."""
    now = now or dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, f"doorcam {device_id} device CA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "doorcam (this device only)")])
    permitted: list[x509.GeneralName] = [x509.DNSName(d) for d in names.dns]
    permitted += [x509.IPAddress(_host_network(a)) for a in names.ips]
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.NameConstraints(permitted_subtrees=permitted,
                                            excluded_subtrees=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256()))
    files.key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(files.key, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), 0o600)
    write_atomic(files.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert


def leaf_is_current(leaf_path: Path, ca: x509.Certificate, names: Names,
                    now: dt.datetime | None = None) -> bool:
    """Whether the certificate at `leaf_path` was issued by `ca`, names exactly `names`
    and has more than RENEW_DAYS left."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        leaf = load_cert(leaf_path)
        leaf.verify_directly_issued_by(ca)
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    has = (set(san.get_values_for_type(x509.DNSName)),
           {str(a) for a in san.get_values_for_type(x509.IPAddress)})
    return (has == (set(names.dns), set(names.ips))
            and leaf.not_valid_after_utc - now > dt.timedelta(days=RENEW_DAYS))


def issue_leaf(files: CaFiles, names: Names, cert_path: Path, key_path: Path,
               now: dt.datetime | None = None, key_mode: int = 0o600) -> x509.Certificate:
    """A server certificate for `names` signed by the CA; its key written with `key_mode`
    (group-readable where the web app runs as another user of the store's group)."""
    now = now or dt.datetime.now(dt.UTC)
    ca_key = serialization.load_pem_private_key(read_key_file(files.key), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = load_cert(files.cert)
    key = ec.generate_private_key(ec.SECP256R1())
    san: list[x509.GeneralName] = [x509.DNSName(d) for d in names.dns]
    san += [x509.IPAddress(ipaddress.ip_address(a)) for a in names.ips]
    cn = names.dns[0] if names.dns else "doorcam"
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(min(now + dt.timedelta(days=LEAF_DAYS), ca.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256()))
    for path in (cert_path, key_path):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The key first: a certificate never names a key that is not there yet.
    write_atomic(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), key_mode)
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert


@dataclass(frozen=True)
class Outcome:
    ca_made: bool
    leaf_issued: bool
    ca_fingerprint: str
    names: Names         # what the CA is constrained to
    leaf_names: Names    # what the web certificate names (within the CA's names)
    wanted: Names        # the device's names and addresses now


def ensure(files: CaFiles, device_id: str, lan_addresses: list[str], cert_path: Path,
           key_path: Path, *, new_ca: bool = False, key_mode: int = 0o600) -> Outcome:
    """Make the CA unless there is one (or `new_ca`), and issue the web certificate unless
    the one there is the CA's, current and for the right names."""
    wanted = Names.for_device(device_id, lan_addresses)
    made = False
    if new_ca or not (files.key.exists() and files.cert.exists()):
        ca = make_ca(files, wanted, device_id)
        made = True
    else:
        ca = load_cert(files.cert)
    permitted = permitted_names(ca)
    # The CA's constraints are fixed once phones installed it: a new LAN address is left
    # out of the certificate (the .local name keeps working) until the owner makes a new CA.
    leaf_names = wanted.within(permitted)
    issued = False
    if made or not leaf_is_current(cert_path, ca, leaf_names):
        issue_leaf(files, leaf_names, cert_path, key_path, key_mode=key_mode)
        issued = True
    elif (st := os.stat(key_path)).st_uid == os.geteuid() and st.st_mode & 0o777 != key_mode:
        os.chmod(key_path, key_mode)
    return Outcome(made, issued, fingerprint_der(ca.public_bytes(serialization.Encoding.DER)),
                   permitted, leaf_names, wanted)
