"""Fixtures for protocol tests (the builders live in world.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.uplink.protocol.world import World
from uplink.protocol.keys import generate_keypair


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Fresh registry and agency keys, with files under tmp_path."""
    w = World(tmp_path, generate_keypair()[0], generate_keypair()[0])
    yield w
    for led in w.opened:
        led.close()
