"""The web app's TLS certificate: self-signed ECDSA P-256, made once in the state dir
unless the device's CA issued one; a certificate issued again is served without a restart."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import ipaddress
import logging
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALID_DAYS = 3650
FOLLOW_S = 5.0  # how often the served certificate's file is looked at (one stat)
log = logging.getLogger("doorcam.web")


def _names(listen_host: str) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the certificate is made for."""
    hostname = socket.gethostname() or "doorcam"
    dns = sorted({hostname, f"{hostname}.local", "localhost"})
    ips = {"127.0.0.1", "::1"}
    if listen_host not in ("0.0.0.0", "::", ""):
        try:
            ips.add(str(ipaddress.ip_address(listen_host)))
        except ValueError:
            dns.append(listen_host)
    lan = lan_address()
    if lan:
        ips.add(lan)
    return dns, sorted(ips)


def lan_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if any."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: only selects the outgoing interface
            addr = str(s.getsockname()[0])
    except OSError:
        return None
    return None if addr.startswith("0.") else addr


def ensure_certificate(cert: Path, key: Path, listen_host: str) -> bool:
    """Make a self-signed certificate and its key (0600) unless both exist; True if made."""
    if cert.exists() and key.exists():
        return False
    private = ec.generate_private_key(ec.SECP256R1())
    dns, ips = _names(listen_host)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"doorcam {dns[0]}"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "doorcam (self-signed)")])
    now = dt.datetime.now(dt.UTC)
    san = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(private.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .sign(private, hashes.SHA256()))
    key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write(key, private.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()), 0o600)
    _write(cert, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return True


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def fingerprint(cert: Path) -> str:
    """SHA-256 of the certificate (DER), as browsers show it: AB:CD:..."""
    der = x509.load_pem_x509_certificate(cert.read_bytes()).public_bytes(
        serialization.Encoding.DER)
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


async def follow(context: ssl.SSLContext, cert: Path, key: Path,
                 interval_s: float = FOLLOW_S) -> None:
    """Serve a certificate issued again on disk (the device CA's step, daily or at a new
    address) without a restart: new connections get it once its file changes. Runs on the
    server's event loop, the thread that does the handshakes."""
    def stamp() -> tuple[int, int] | None:
        try:
            st = cert.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_ino

    seen = stamp()
    while True:
        await asyncio.sleep(interval_s)
        now = stamp()
        if now is None or now == seen:
            continue
        try:
            context.load_cert_chain(str(cert), str(key))
        except (OSError, ssl.SSLError) as exc:  # a half-written pair: the next look
            log.warning("new certificate %s not loaded yet: %s", cert, exc)
            continue
        seen = now
        log.info("serving the new certificate %s (SHA-256 %s)", cert, fingerprint(cert))
