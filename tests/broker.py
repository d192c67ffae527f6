"""A real mosquitto broker for tests (device/localbroker.py), skipped or failed without one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from device.cli.localbroker import MosquittoBroker as _Broker
from device.cli.localbroker import free_port, mosquitto_path
from tests.support import require

__all__ = ["MosquittoBroker", "free_port", "mosquitto_path", "require_mosquitto"]


def require_mosquitto() -> str:
    """The broker binary; skips the test without one (fails in CI, where it is required)."""
    found = mosquitto_path()
    require(found, "mosquitto not installed (apt install mosquitto); MQTT tests need a broker")
    assert found is not None
    return found


class MosquittoBroker(_Broker):
    def __init__(self, persistence_dir: Path | None = None, **kwargs: Any) -> None:
        super().__init__(persistence_dir, binary=require_mosquitto(), **kwargs)
