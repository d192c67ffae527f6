"""The reusable broker fixture itself: restart on the same port, kill, skip/fail when absent."""

from __future__ import annotations

import socket

import pytest

from tests import broker as broker_module
from tests.broker import MosquittoBroker


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_stop_start_kill_keep_the_port(broker: MosquittoBroker) -> None:
    port, pid = broker.port, broker.pid
    assert _accepts(port)
    broker.stop()
    assert not broker.running and not _accepts(port)
    broker.start()
    assert broker.port == port and broker.pid != pid and _accepts(port)
    broker.kill()
    assert not broker.running and not _accepts(port)
    assert "listener" in broker.config_path.read_text()


def _no_mosquitto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker_module, "mosquitto_path", lambda: None)


def test_missing_mosquitto_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_mosquitto(monkeypatch)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="mosquitto not installed"):
        MosquittoBroker()


def test_missing_mosquitto_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_mosquitto(monkeypatch)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match=r"mosquitto not installed.*CI is set"):
        MosquittoBroker()
