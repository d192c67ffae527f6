"""Zero bytes leave for a destination that is not allowed; servers prove no connection came."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.uplink.upload.conftest import LOOPBACK, dev_config, write_random
from tests.uplink.upload.netfaults import RawRequest, ScriptedServer, http_response, tus_script
from uplink.agency.receiver import TusReceiver
from uplink.errors import DestinationRefused
from uplink.upload.resume import SqliteResumeStore
from uplink.upload.transport import RequestsTransport
from uplink.upload.tus import TusClient, UploadMetadata
from uplink.upload.urls import check_scheme, resolve_location


@pytest.fixture
def clip(tmp_path: Path) -> tuple[Path, UploadMetadata]:
    src = tmp_path / "clip.mp4"
    return src, write_random(src, 300_000)


def _port(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


@pytest.mark.parametrize("flag", [False, True])
def test_plain_http_to_a_real_host_is_refused_without_dns(
        flag: bool, clip: tuple[Path, UploadMetadata], store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    src, meta = clip
    # Had the client tried, resolving this name would fail with a *transient* error instead.
    with pytest.raises(DestinationRefused, match="plain http"):
        make_client(dev_config(allow_insecure_loopback=flag), store).upload_file(
            src, "http://agency.invalid/files/", meta, "k",
            allowed_hosts=frozenset({"agency.invalid"}))


def test_plain_http_to_loopback_needs_the_dev_flag(
        clip: tuple[Path, UploadMetadata], receiver: TusReceiver, store: SqliteResumeStore,
        make_client: Callable[..., TusClient]) -> None:
    src, meta = clip
    with pytest.raises(DestinationRefused, match="plain http"):
        make_client(dev_config(allow_insecure_loopback=False), store).upload_file(
            src, receiver.url, meta, "k", allowed_hosts=LOOPBACK)
    assert receiver.connections == 0


@pytest.mark.parametrize("allowed", [frozenset(), frozenset({"localhost"}),
                                     frozenset({"agency.example"})])
def test_host_not_allowed_gets_no_connection(
        allowed: frozenset[str], clip: tuple[Path, UploadMetadata], receiver: TusReceiver,
        store: SqliteResumeStore, make_client: Callable[..., TusClient]) -> None:
    src, meta = clip
    with pytest.raises(DestinationRefused, match="not an allowed"):
        make_client(dev_config(), store).upload_file(
            src, receiver.url, meta, "k", allowed_hosts=allowed)
    assert receiver.connections == 0


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("elsewhere", ["http://127.0.0.1:{port}/files/",
                                       "http://localhost:{port}/files/"])
def test_redirect_on_creation_is_never_followed(
        status: int, elsewhere: str, clip: tuple[Path, UploadMetadata], receiver: TusReceiver,
        store: SqliteResumeStore, make_client: Callable[..., TusClient],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    src, meta = clip
    target = elsewhere.format(port=_port(receiver.url))

    def redirect(req: RawRequest, n: int) -> bytes | None:
        return http_response(status, {"Location": target}) if req.method == "POST" else None

    front = make_scripted(tus_script(redirect))
    allowed = frozenset({"127.0.0.1", "localhost"})  # even an allowed target is not followed
    sleeps: list[float] = []
    with pytest.raises(DestinationRefused, match=f"redirect {status}"):
        make_client(dev_config(), store, sleep=sleeps.append).upload_file(
            src, front.url, meta, "k", allowed_hosts=allowed)
    assert front.methods() == ["OPTIONS", "POST"] and sleeps == []
    assert receiver.connections == 0


@pytest.mark.parametrize("method", ["OPTIONS", "PATCH"])
def test_redirect_at_any_step_is_refused(
        method: str, clip: tuple[Path, UploadMetadata], receiver: TusReceiver,
        store: SqliteResumeStore, make_client: Callable[..., TusClient],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    src, meta = clip
    target = receiver.url

    def redirect(req: RawRequest, n: int) -> bytes | None:
        return http_response(308, {"Location": target}) if req.method == method else None

    front = make_scripted(tus_script(redirect))
    with pytest.raises(DestinationRefused):
        make_client(dev_config(), store).upload_file(
            src, front.url, meta, "k", allowed_hosts=LOOPBACK)
    assert front.methods()[-1] == method and receiver.connections == 0


@pytest.mark.parametrize("location", [
    "http://127.0.0.1:{port}/files/x",   # same host, other port
    "http://localhost:{port}/files/x",   # other host
    "//localhost:{port}/files/x",        # scheme-relative, other host
    "https://127.0.0.1:{front}/files/x",  # other scheme
])
def test_location_elsewhere_is_refused_without_a_request(
        location: str, clip: tuple[Path, UploadMetadata], receiver: TusReceiver,
        store: SqliteResumeStore, make_client: Callable[..., TusClient],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    src, meta = clip
    ports: dict[str, int] = {"port": _port(receiver.url)}

    def created(req: RawRequest, n: int) -> bytes | None:
        if req.method != "POST":
            return None
        return http_response(201, {"Tus-Resumable": "1.0.0",
                                   "Location": location.format(**ports)})

    front = make_scripted(tus_script(created))
    ports["front"] = front.port
    with pytest.raises(DestinationRefused, match="elsewhere"):
        make_client(dev_config(), store).upload_file(
            src, front.url, meta, "k", allowed_hosts=frozenset({"127.0.0.1", "localhost"}))
    assert front.methods() == ["OPTIONS", "POST"]
    assert receiver.connections == 0


@pytest.mark.parametrize("trick", [
    "http://127.0.0.1:{port}\\@agency.example/files/",
    "http://agency.example@127.0.0.1:{port}/files/",
    "http://127.0.0.1:{port}/files/\r\nX-Injected: 1",
    "http://127.0.0.1:{port}/fïles/",
    "ftp://127.0.0.1:{port}/files/",
])
def test_ambiguous_urls_are_refused_by_the_transport(trick: str, receiver: TusReceiver) -> None:
    transport = RequestsTransport(dev_config())
    try:
        with pytest.raises(DestinationRefused):
            transport.request("OPTIONS", trick.format(port=_port(receiver.url)), {}, None,
                              time.monotonic() + 5)
    finally:
        transport.close()
    assert receiver.connections == 0


def test_url_rules() -> None:
    assert check_scheme("https://agency.example/x", allow_insecure_loopback=False).port == 443
    assert check_scheme("http://[::1]:8/x", allow_insecure_loopback=True).host == "::1"
    assert check_scheme("http://127.9.9.9/x", allow_insecure_loopback=True).host == "127.9.9.9"
    for bad in ("http://128.0.0.1/x", "http://localhost.example/x", "http://[::2]/x"):
        with pytest.raises(DestinationRefused):
            check_scheme(bad, allow_insecure_loopback=True)
    base = "https://agency.example/files/"
    assert resolve_location(base, "abc") == "https://agency.example/files/abc"
    assert resolve_location(base, "/up/abc") == "https://agency.example/up/abc"
    assert resolve_location(base, "HTTPS://Agency.Example:443/a") == "https://Agency.Example:443/a"
    with pytest.raises(DestinationRefused):
        resolve_location(base, "https://agency.example:8443/a")


def test_proxy_settings_in_the_environment_are_ignored(
        clip: tuple[Path, UploadMetadata], receiver: TusReceiver, store: SqliteResumeStore,
        make_client: Callable[..., TusClient], make_scripted: Callable[..., ScriptedServer],
        monkeypatch: pytest.MonkeyPatch) -> None:
    src, meta = clip
    snoop = make_scripted(lambda req, conn: False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{snoop.port}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    make_client(dev_config(), store).upload_file(src, receiver.url, meta, "k",
                                                 allowed_hosts=LOOPBACK)
    assert snoop.connections == 0 and len(receiver.completed()) == 1
