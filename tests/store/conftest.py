"""Fixtures for clip-store tests: a fresh store in tmp_path, closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from device.store import ClipStore
from tests.store.helpers import store_config


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def store(root: Path) -> Iterator[ClipStore]:
    s = ClipStore(store_config(root))
    yield s
    s.close()
