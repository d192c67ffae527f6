"""The sender's refusals before any connection, and the push package's import boundary."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from config.push import PushConfig
from device.web.push import STATIC_DIR, PushConfigError, PushService
from device.web.push.endpoints import EndpointPolicy
from device.web.push.errors import EndpointNotAllowed, PushError, Unreachable
from device.web.push.message import request_message
from device.web.push.sender import PushSender, Target, retry_after
from device.web.push.vapid import VapidKey
from tests.web.push.browser import Browser

PUSH = Path(__file__).resolve().parents[3] / "device" / "web" / "push"


def _sender(tmp_path: Path, *other_services: str) -> PushSender:
    return PushSender(VapidKey.load_or_create(tmp_path / "k.pem"), "mailto:o@example.org",
                      EndpointPolicy.of(other_services), deadline_s=1.0)


def _target(endpoint: str) -> Target:
    b = Browser.new()
    return Target(endpoint, b.p256dh, b.auth)


@pytest.mark.parametrize("endpoint", ["http://push.example.com/x", "ftp://127.0.0.1/x",
                                      "https://a@push.example.com/x", "http://10.0.0.1/x",
                                      "http://127.0.0.1:8080/x", "https://push.example.com/x"])
def test_what_is_not_a_known_push_service_is_refused_without_connecting(
        tmp_path: Path, endpoint: str) -> None:
    sender = _sender(tmp_path)
    with pytest.raises(EndpointNotAllowed):
        sender.send(_target(endpoint), b"{}", ttl=60)
    sender.close()


def test_nobody_listening_is_unreachable_not_a_traceback(tmp_path: Path) -> None:
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sender = _sender(tmp_path, f"http://127.0.0.1:{port}")
    with pytest.raises(Unreachable) as err:
        sender.send(_target(f"http://127.0.0.1:{port}/push/secret-token"), b"{}", ttl=60)
    sender.close()
    assert "secret-token" not in str(err.value), "endpoints are capabilities: not logged"


@pytest.mark.parametrize(("kwargs", "says"), [
    ({"urgency": "urgent"}, "urgency"), ({"topic": "a" * 33}, "topic"),
    ({"topic": "no spaces"}, "topic"), ({"ttl": -1}, "ttl")])
def test_header_values_are_checked(tmp_path: Path, kwargs: dict[str, object],
                                   says: str) -> None:
    sender = _sender(tmp_path)
    args: dict[str, object] = {"ttl": 60, **kwargs}
    with pytest.raises(ValueError, match=says):
        sender.send(_target("https://push.example.com/x"), b"{}", **args)  # type: ignore[arg-type]
    sender.close()


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after("120") == 120.0
    assert retry_after(None) is None and retry_after("soon") is None
    now = time.time()
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 90))
    got = retry_after(date, now)
    assert got is not None and 88 <= got <= 91


def test_message_is_minimal_and_printable() -> None:
    msg = request_message("r-1", "84th\nPrecinct\x00 " + "x" * 200)
    assert msg.body.startswith("New request from 84th Precinct ")
    assert len(msg.body) <= len("New request from ") + 80
    assert (msg.url, msg.tag) == ("/#request-r-1", "request-r-1")
    assert request_message("a/b#c", "").url == "/#request-a%2Fb%23c"
    assert request_message("r", "").body == "New request from an agency"


def test_enabled_without_contact_is_a_config_error(tmp_path: Path) -> None:
    svc = PushService(tmp_path, PushConfig(enabled=True), book_path=tmp_path / "b.sqlite3")
    with pytest.raises(PushConfigError, match=r"push\.contact"):
        svc.notifier()
    assert issubclass(PushConfigError, PushError)
    assert (STATIC_DIR / "sw.js").is_file() and (STATIC_DIR / "subscribe.js").is_file()


def test_push_imports_neither_the_daemon_nor_the_commands() -> None:
    for path in PUSH.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not name.startswith(("device.daemon", "device.cmd_")), (path, name)
                # Besides itself, only the kinds of notification (a light enum module).
                assert not name.startswith("device.") or name.startswith(
                    ("device.web.push", "device.web.kinds")), (path, name)
