"""The device's own CA: name-constrained to the device (judged by OpenSSL, not by our own
code), issuing the web app's certificate; offered on the Device page for Android (DER) and
iOS (a configuration profile); the .local name as the passkeys' address; and Chromium
trusting the app after the CA was installed the way a person does it (an NSS database, no
--ignore-certificate-errors), while a browser without it refuses."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import plistlib
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from device.wiring import ca
from tests.e2e.test_consent_e2e import doorcam
from tests.support import require
from tests.web.helpers import login
from tests.web.test_browser import CHROMIUM, DRIVER, FLAGS, log_in, shot
from tests.web.world import World

NAME = "doorcam-porch-1.local"  # the test world's device id is porch-1
ROGUE = "router.local"  # another site on the LAN (loopback here)


def _openssl_verify(ca_pem: Path, leaf_pem: Path, *extra: str) -> subprocess.CompletedProcess:
    openssl = shutil.which("openssl")
    require(openssl is not None, "needs openssl (apt install openssl)")
    assert openssl
    return subprocess.run([openssl, "verify", "-CAfile", str(ca_pem), *extra, str(leaf_pem)],
                          capture_output=True, text=True, timeout=30)


def _rogue_leaf(files: ca.CaFiles, out: Path, *, dns: list[str], ips: list[str]) -> None:
    """A certificate the CA's key signs for names outside its constraints (what a stolen
    CA key could mint)."""
    ca_key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    root = ca.load_cert(files.cert)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    san = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i))
                                            for i in ips]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "router")]))
            .issuer_name(root.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .sign(ca_key, hashes.SHA256()))
    out.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def test_ca_is_limited_to_the_devices_own_names_and_addresses(tmp_path: Path) -> None:
    files = ca.CaFiles.of(tmp_path)
    cert, key = tmp_path / "web" / "cert.pem", tmp_path / "web" / "key.pem"
    got = ca.ensure(files, "doorcam-1a2b3c4d", ["192.168.1.23"], cert, key)
    assert got.ca_made and got.leaf_issued
    root = ca.load_cert(files.cert)
    nc = root.extensions.get_extension_for_class(x509.NameConstraints)
    assert nc.critical
    assert got.names == ca.Names(("doorcam-1a2b3c4d.local", "localhost"),
                                 ("127.0.0.1", "::1", "192.168.1.23"))
    # Each address exactly (a /32), not the LAN's range.
    assert {str(g.value) for g in nc.value.permitted_subtrees or []
            if isinstance(g, x509.IPAddress)} == {"127.0.0.1/32", "::1/128",
                                                   "192.168.1.23/32"}
    bc = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    assert files.key.stat().st_mode & 0o777 == 0o600
    assert key.stat().st_mode & 0o777 == 0o600
    # OpenSSL accepts the web certificate for the device's names...
    for host in ("-verify_hostname", NAME.replace("porch-1", "1a2b3c4d")), \
            ("-verify_ip", "192.168.1.23"):
        done = _openssl_verify(files.cert, cert, *host)
        assert done.returncode == 0, done.stdout + done.stderr
    # ...and refuses one the same key signs for the router's admin page next to it.
    rogue = tmp_path / "rogue.pem"
    for dns, ips in ((["router.local"], []), ([], ["192.168.1.1"]),
                     (["doorcam-1a2b3c4d.local"], ["192.168.1.1"])):
        _rogue_leaf(files, rogue, dns=dns, ips=ips)
        done = _openssl_verify(files.cert, rogue)
        assert done.returncode != 0, (dns, ips)
        assert "permitted subtree violation" in done.stdout + done.stderr, done.stdout


def test_leaf_is_issued_again_only_when_needed(tmp_path: Path) -> None:
    files = ca.CaFiles.of(tmp_path)
    cert, key = tmp_path / "web" / "cert.pem", tmp_path / "web" / "key.pem"
    first = ca.ensure(files, "doorcam-1a2b3c4d", ["192.168.1.23"], cert, key)
    again = ca.ensure(files, "doorcam-1a2b3c4d", ["192.168.1.23"], cert, key)
    assert not again.ca_made and not again.leaf_issued
    assert again.ca_fingerprint == first.ca_fingerprint
    # A new address: the CA (installed on phones) stays; the certificate drops the old
    # address and cannot name the new one (outside the CA's constraints).
    moved = ca.ensure(files, "doorcam-1a2b3c4d", ["192.168.1.77"], cert, key)
    assert not moved.ca_made and moved.leaf_issued
    assert moved.leaf_names.ips == ("127.0.0.1", "::1")
    assert moved.wanted.ips == ("127.0.0.1", "::1", "192.168.1.77")
    assert _openssl_verify(files.cert, cert, "-verify_hostname",
                           "doorcam-1a2b3c4d.local").returncode == 0
    # A self-signed certificate in its place (the web app's fallback) is replaced.
    cert.write_bytes(ca.load_cert(files.cert).public_bytes(serialization.Encoding.PEM))
    assert ca.ensure(files, "doorcam-1a2b3c4d", ["192.168.1.77"], cert, key).leaf_issued
    # A new CA on request: a new fingerprint, now with the new address.
    renewed = ca.ensure(files, "doorcam-1a2b3c4d", ["192.168.1.77"], cert, key, new_ca=True)
    assert renewed.ca_made and renewed.ca_fingerprint != first.ca_fingerprint
    assert "192.168.1.77" in renewed.leaf_names.ips


def test_mdns_name_is_one_label_from_the_device_id() -> None:
    assert ca.mdns_name("doorcam-1a2b3c4d") == "doorcam-1a2b3c4d.local"
    assert ca.mdns_name("Porch_1.front") == "doorcam-porch-1-front.local"
    assert ca.mdns_name("---") == "doorcam.local"
    assert len(ca.mdns_name("x" * 64).split(".")[0]) <= 63


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ca_world(make_world: Callable[..., World]) -> World:
    world = make_world(listen=f"127.0.0.1:{_free_port()}")
    done = doorcam("ca", "issue", "--config", str(world.config))
    assert done.returncode == 0, done.stderr
    assert "made the device CA" in done.stdout and "issued the web certificate" in done.stdout
    world.add_user()
    return world


def test_device_page_offers_the_ca_for_android_and_ios(ca_world: World) -> None:
    url = ca_world.start()
    root = ca.load_cert(ca_world.store / "device_ca.pem")
    der = root.public_bytes(serialization.Encoding.DER)
    fp = ca.fingerprint_der(der)
    s = ca_world.session()
    s.verify = str(ca_world.store / "device_ca.pem")  # the CA, not the served certificate
    # Downloads are the owner's, like every page.
    assert s.get(url + "/device/ca.crt", allow_redirects=False).status_code == 303
    login(s, url)
    page = s.get(url + "/device").text
    assert fp in page and 'href="/device/ca.crt"' in page
    assert 'href="/device/ca.mobileconfig"' in page
    assert f"https://{NAME}:" in page
    assert "did not issue" not in page  # the app serves the CA's certificate
    crt = s.get(url + "/device/ca.crt")
    assert crt.status_code == 200 and crt.content == der
    assert crt.headers["content-type"] == "application/x-x509-ca-cert"
    assert "attachment" in crt.headers["content-disposition"]
    prof = s.get(url + "/device/ca.mobileconfig")
    assert prof.headers["content-type"] == "application/x-apple-aspen-config"
    doc = plistlib.loads(prof.content)
    assert doc["PayloadType"] == "Configuration" and doc["PayloadVersion"] == 1
    assert doc["PayloadIdentifier"] and doc["PayloadUUID"] and doc["PayloadDisplayName"]
    (payload,) = doc["PayloadContent"]
    assert payload["PayloadType"] == "com.apple.security.root"
    assert payload["PayloadContent"] == der
    for k in ("PayloadIdentifier", "PayloadUUID", "PayloadVersion", "PayloadDisplayName"):
        assert payload[k], k
    assert payload["PayloadUUID"] != doc["PayloadUUID"]
    # Downloading it again gives the same identifiers (iOS replaces, not duplicates).
    assert plistlib.loads(s.get(url + "/device/ca.mobileconfig").content) == doc
    # `doorcam ca show` prints the same fingerprint the page shows.
    shown = doorcam("ca", "show", "--config", str(ca_world.config))
    assert shown.returncode == 0 and fp in shown.stdout and NAME in shown.stdout


def test_passkeys_default_to_the_local_name_when_the_ca_serves(ca_world: World) -> None:
    url = ca_world.start()
    port = url.rsplit(":", 1)[1]
    s = ca_world.session()
    s.verify = str(ca_world.store / "device_ca.pem")
    login(s, url)
    page = s.get(url + "/device").text
    # At 127.0.0.1 the page says where passkeys work: the .local name.
    assert f"Passkeys work only at https://{NAME}:{port}/" in page
    shown = doorcam("web", "url", "--config", str(ca_world.config))
    assert shown.stdout.splitlines()[0] == f"open https://{NAME}:{port}/", shown.stdout


def _served(url: str) -> str:
    host, port = url.removeprefix("https://").rsplit(":", 1)
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate((host, int(port))))
    return ca.fingerprint_der(der)


def test_a_certificate_issued_again_is_served_without_a_restart(ca_world: World) -> None:
    url = ca_world.start()
    before = _served(url)
    assert before == ca.fingerprint_der(ca.load_cert(ca_world.cert).public_bytes(
        serialization.Encoding.DER))
    done = doorcam("ca", "issue", "--new-ca", "--config", str(ca_world.config))
    assert done.returncode == 0 and "issued" in done.stdout, done.stderr
    new = ca.fingerprint_der(ca.load_cert(ca_world.cert).public_bytes(
        serialization.Encoding.DER))
    assert new != before
    deadline = time.monotonic() + 30
    while _served(url) != new:  # the app looks at the file every few seconds
        assert time.monotonic() < deadline, "the new certificate was not served"
        time.sleep(0.2)
    assert ca_world.server is not None and ca_world.server.poll() is None, "no restart"
    while not any("serving the new certificate" in line for line in ca_world.log):
        assert time.monotonic() < deadline, "".join(ca_world.log)
        time.sleep(0.1)
    s = ca_world.session()
    s.verify = str(ca_world.store / "device_ca.pem")  # the new CA
    assert s.get(url + "/login").status_code == 200


def test_issue_says_when_the_device_outgrew_its_ca(ca_world: World) -> None:
    """A new device id (so a new .local name): the CA cannot vouch for it, the command says
    so and how to make a new one; the certificate keeps only what the CA allows."""
    text = ca_world.config.read_text()
    assert 'id = "porch-1"' in text
    ca_world.config.write_text(text.replace('id = "porch-1"', 'id = "porch-2"', 1))
    done = doorcam("ca", "issue", "--config", str(ca_world.config))
    assert done.returncode == 0, done.stderr
    assert "doorcam-porch-2.local" in done.stdout and "--new-ca" in done.stdout, done.stdout
    san = ca.load_cert(ca_world.cert).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    again = doorcam("ca", "issue", "--new-ca", "--config", str(ca_world.config))
    assert again.returncode == 0 and "made the device CA" in again.stdout, again.stderr
    assert "doorcam-porch-2.local" in doorcam("ca", "show", "--config",
                                              str(ca_world.config)).stdout


def test_an_owners_own_certificate_is_never_replaced(
        make_world: Callable[..., World], tmp_path: Path) -> None:
    """With [web] cert_file set (a certificate the owner brought), `doorcam ca issue`
    leaves it alone and makes no CA."""
    mine = tmp_path / "mine"
    mine.mkdir()
    ca.ensure(ca.CaFiles.of(mine), "elsewhere", [], mine / "cert.pem", mine / "key.pem")
    before = (mine / "cert.pem").read_bytes()
    world = make_world(web=f'cert_file = "{mine / "cert.pem"}"\n'
                           f'key_file = "{mine / "key.pem"}"')
    done = doorcam("ca", "issue", "--config", str(world.config))
    assert done.returncode == 0, done.stderr
    assert "cert_file" in done.stdout
    assert (mine / "cert.pem").read_bytes() == before
    assert not (world.store / "device_ca.pem").exists()


def test_without_a_ca_there_is_nothing_to_download(world: World) -> None:
    world.add_user()
    url = world.start()
    s = world.session()
    login(s, url)
    assert s.get(url + "/device/ca.crt").status_code == 404
    assert "sudo doorcam ca issue" in s.get(url + "/device").text
    assert "Passkeys need the name" in s.get(url + "/device").text


def _nss_home(tmp: Path, ca_pem: Path | None) -> Path:
    """A HOME whose NSS database trusts `ca_pem` for websites, as `certutil` installs it."""
    certutil = shutil.which("certutil")
    require(certutil is not None, "needs certutil (apt install libnss3-tools)")
    assert certutil
    home = tmp / ("home-ca" if ca_pem else "home-plain")
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    for cmd in (["-N", "--empty-password"],
                *([["-A", "-t", "C,,", "-n", "doorcam device CA", "-i", str(ca_pem)]]
                  if ca_pem else [])):
        done = subprocess.run([certutil, "-d", f"sql:{db}", *cmd], capture_output=True,
                              text=True, timeout=30)
        assert done.returncode == 0, done.stderr
    return home


@pytest.fixture
def chromium_at(tmp_path: Path) -> Iterator[Callable[[Path], Any]]:
    """Start Debian's chromium with a given HOME (its NSS database), resolving the device's
    .local name to loopback only, and without --ignore-certificate-errors."""
    missing = [p for p in (CHROMIUM, DRIVER) if not os.access(p, os.X_OK)]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium (pip)")
    require(not missing, f"needs {', '.join(missing)} (apt install chromium chromium-driver)")
    drivers: list[Any] = []

    def start(home: Path) -> Any:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            if flag != "--ignore-certificate-errors":
                options.add_argument(flag)
        options.add_argument(f"--host-resolver-rules=MAP {NAME} 127.0.0.1, "
                             f"MAP {ROGUE} 127.0.0.1")
        options.add_argument(f"--user-data-dir={home / 'profile'}")
        service = Service(executable_path=DRIVER, env={**os.environ, "HOME": str(home)})
        driver = webdriver.Chrome(service=service, options=options)
        drivers.append(driver)
        return driver

    yield start
    for d in drivers:
        d.quit()


def test_chromium_trusts_the_app_once_the_ca_is_installed(
        ca_world: World, chromium_at: Callable[[Path], Any], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    assert "--ignore-certificate-errors" in FLAGS  # what this test leaves out
    url = ca_world.start()
    port = url.rsplit(":", 1)[1]
    at = f"https://{NAME}:{port}"
    trusting = chromium_at(_nss_home(tmp_path, ca_world.store / "device_ca.pem"))
    log_in(trusting, at)
    trusting.get(at + "/device")
    trusting.execute_script("document.getElementById('trust').scrollIntoView();"
                            "for (const d of document.querySelectorAll('#trust details'))"
                            " d.open = true;")
    shot(trusting, "device-trust")
    assert trusting.find_element(By.ID, "trust")
    assert trusting.execute_script("return window.isSecureContext") is True
    outcome = trusting.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.serviceWorker.register('/sw.js', {scope: '/'})"
        ".then(r => done('registered ' + r.scope), e => done('failed ' + e));")
    assert outcome == f"registered {at}/", outcome
    ready = trusting.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.serviceWorker.ready.then(r => done(r.active ? 'active' : 'waiting'));")
    assert ready == "active", ready
    # The same page in a browser without the CA: a certificate error, no login form.
    plain = chromium_at(_nss_home(tmp_path, None))
    plain.get(at + "/login")
    assert not plain.find_elements(By.NAME, "password")
    assert "ERR_CERT_AUTHORITY_INVALID" in plain.page_source or \
        "Privacy error" in plain.title, plain.title


def _site_signed_by_the_ca(files: ca.CaFiles, name: str, tmp: Path) -> Any:
    """An https server on loopback with a certificate the device CA's key signed for `name`
    exactly as it signs the web app's (what someone holding that key could mint)."""
    import http.server
    import threading

    cert, key = tmp / f"{name}.pem", tmp / f"{name}.key"
    ca.issue_leaf(files, ca.Names((name,), ()), cert, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             http.server.SimpleHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_chromium_refuses_another_site_the_ca_key_signed(
        ca_world: World, chromium_at: Callable[[Path], Any], tmp_path: Path) -> None:
    """The browser's own verifier holds the CA to its name constraints: with the CA
    installed, a certificate its key signed for another name is refused (Chromium 156 says
    ERR_CERT_INVALID), while the same kind of certificate for the device's own name is
    accepted."""
    from selenium.webdriver.common.by import By

    files = ca.CaFiles.of(ca_world.store)
    browser = chromium_at(_nss_home(tmp_path, files.cert))
    for name, accepted in ((NAME, True), (ROGUE, False)):
        server = _site_signed_by_the_ca(files, name, tmp_path)
        try:
            browser.get(f"https://{name}:{server.server_address[1]}/")
            deadline = time.monotonic() + 15
            while not (browser.find_elements(By.TAG_NAME, "ul")
                       or "ERR_CERT_" in browser.page_source):
                assert time.monotonic() < deadline, browser.page_source[-2000:]
                time.sleep(0.1)
            listed = "Directory listing" in browser.page_source
            assert listed == accepted, (name, browser.title)
            if not accepted:
                assert "ERR_CERT_" in browser.page_source
        finally:
            server.shutdown()
            server.server_close()
