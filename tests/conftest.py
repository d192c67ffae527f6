"""Shared fixtures: the real-footage directory and a scratch store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("DOORCAM_TEST_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def test_data() -> Path:
    """The shared real-footage folder; skips (CI: fails) when it is absent."""
    d = data_dir()
    if not (d / "README.md").exists():
        if os.environ.get("CI"):
            pytest.fail(f"real footage missing at {d} (set DOORCAM_TEST_DATA); CI requires it")
        pytest.skip(f"real footage not found at {d}; set DOORCAM_TEST_DATA to ../shared/data")
    return d
