"""The upload URL check: https, exact IDNA-normalised host, listed ports, no userinfo."""

from __future__ import annotations

import pytest

from uplink.errors import RequestRejected
from uplink.protocol.urls import check_upload_url

HOSTS = ["evidence.example.gov", "upload.example.gov:8443", "bücher.example", "[::1]:9000",
         "127.0.0.1"]


@pytest.mark.parametrize(("url", "host", "port"), [
    ("https://evidence.example.gov/tus/", "evidence.example.gov", 443),
    ("https://EVIDENCE.example.gov./tus/", "evidence.example.gov", 443),
    ("https://evidence.example.gov:443/x", "evidence.example.gov", 443),
    ("https://upload.example.gov:8443/x", "upload.example.gov", 8443),
    ("https://xn--bcher-kva.example/x", "xn--bcher-kva.example", 443),
])
def test_allowed(url: str, host: str, port: int) -> None:
    dest = check_upload_url(url, HOSTS)
    assert (dest.scheme, dest.host, dest.port) == ("https", host, port)


@pytest.mark.parametrize(("url", "reason"), [
    ("http://evidence.example.gov/", "insecure_url"),
    ("ftp://evidence.example.gov/", "insecure_url"),
    ("https://a:b@evidence.example.gov/", "insecure_url"),
    ("https://evil.com@evidence.example.gov/", "insecure_url"),
    ("https://evidence.example.gov\\@evil.com/", "insecure_url"),
    ("https://evidence.example.gov /", "insecure_url"),
    ("https://bücher.example/", "insecure_url"),
    ("https://evidence.example.gov:0/", "insecure_url"),
    ("https://evidence.example.gov:99999/", "insecure_url"),
    ("https:///path", "insecure_url"),
    ("https://xn--zz.example/", "insecure_url"),
    ("https://evidence.example.gov:8443/", "host_not_allowed"),
    ("https://upload.example.gov/", "host_not_allowed"),
    ("https://sub.evidence.example.gov/", "host_not_allowed"),
    ("https://evidence.example.gov.evil.com/", "host_not_allowed"),
    ("http://127.0.0.1/", "insecure_url"),
])
def test_refused(url: str, reason: str) -> None:
    with pytest.raises(RequestRejected) as info:
        check_upload_url(url, HOSTS)
    assert info.value.reason == reason


def test_plain_http_only_to_a_listed_loopback_host_with_the_flag() -> None:
    assert check_upload_url("http://127.0.0.1/x", HOSTS, allow_insecure_loopback=True).port == 80
    v6 = check_upload_url("http://[::1]:9000/x", HOSTS, allow_insecure_loopback=True)
    assert (v6.host, v6.port) == ("::1", 9000)
    for url, reason in [("http://localhost/x", "host_not_allowed"),
                        ("http://evidence.example.gov/x", "insecure_url")]:
        with pytest.raises(RequestRejected) as info:
            check_upload_url(url, HOSTS, allow_insecure_loopback=True)
        assert info.value.reason == reason


def test_bad_registry_entries_allow_nothing() -> None:
    with pytest.raises(RequestRejected) as info:
        check_upload_url("https://evidence.example.gov/", ["evidence.example.gov:http", "::"])
    assert info.value.reason == "host_not_allowed"
