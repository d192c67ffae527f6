"""Fixtures for recording tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from capture.frame import Packet
from tests.recording.helpers import DirSink, traffic_packets


@pytest.fixture
def sink(tmp_path: Path) -> DirSink:
    return DirSink(tmp_path)


@pytest.fixture(scope="session")
def traffic(test_data: Path) -> tuple[list[Packet], bytes]:
    """The real 720p H.264 clip (B-frames, 5.12 s GOP) as Packets plus its avcC."""
    return traffic_packets(test_data / "dvrscan" / "traffic_camera.mp4")
