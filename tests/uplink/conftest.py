"""Fixtures for uplink tests: a fresh real mosquitto broker per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.broker import MosquittoBroker


@pytest.fixture
def make_broker(tmp_path: Path) -> Iterator[Callable[..., MosquittoBroker]]:
    """Factory for (not yet started) brokers, all stopped at the end of the test."""
    made: list[MosquittoBroker] = []

    def make(persistence_dir: Path | None = None, **kwargs: Any) -> MosquittoBroker:
        b = MosquittoBroker(persistence_dir, work_dir=tmp_path / f"broker{len(made)}", **kwargs)
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()


@pytest.fixture
def broker(make_broker: Callable[..., MosquittoBroker]) -> MosquittoBroker:
    """A running broker on a free loopback port, without persistence."""
    b = make_broker()
    b.start()
    return b
