"""Fixtures for the people stage's tests: a real broker (tests/uplink) and the real street
of issue53."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.people.footage import street_frames
from tests.uplink.conftest import broker, make_broker  # noqa: F401  (fixtures)


@pytest.fixture(scope="session")
def street(test_data: Path) -> list[np.ndarray]:
    """issue53's street (nobody in it), gray at 320x360; do not change the frames."""
    frames = street_frames(test_data)
    assert len(frames) == 59
    return frames
