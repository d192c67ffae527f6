"""A real mosquitto broker for tests (device/localbroker.py), skipped or failed without one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from device.cli.localbroker import MosquittoBroker as _Broker
from device.cli.localbroker import free_port, mosquitto_path

__all__ = ["MosquittoBroker", "free_port", "mosquitto_path", "require_mosquitto"]


def require_mosquitto() -> str:
    """The broker binary; skips the test without one (fails in CI, where it is required)."""
    found = mosquitto_path()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("mosquitto not found (PATH or /usr/sbin/mosquitto); CI requires it")
        pytest.skip("mosquitto not installed (apt install mosquitto); MQTT tests need a broker")
    return found


class MosquittoBroker(_Broker):
    def __init__(self, persistence_dir: Path | None = None, **kwargs: Any) -> None:
        super().__init__(persistence_dir, binary=require_mosquitto(), **kwargs)
