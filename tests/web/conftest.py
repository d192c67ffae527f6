"""Fixtures for the web app: a template store with clips (simulated once per session), and
a fresh world per test (own keys, registry, store copy, web server)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.test_consent_e2e import doorcam
from tests.support import build_lock, run_folder
from tests.web.push.pushservice import PushService
from tests.web.world import World


@pytest.fixture(scope="session")
def template_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the clips of 40 s of the synthetic porch (at least three), made once per
    test run: the first xdist worker simulates, the others wait and copy from it too."""
    root = run_folder(tmp_path_factory) / "web-template"
    store = root / "store"
    with build_lock(root):
        if not (root / "complete").exists():
            shutil.rmtree(store, ignore_errors=True)
            done = doorcam("simulate", "synthetic:porch?seconds=40&size=320x240", "--store",
                           str(store), "--quiet")
            assert done.returncode == 0, done.stderr
            (root / "complete").touch()
    return store


@pytest.fixture
def make_world(tmp_path: Path, template_store: Path) -> Iterator[Callable[..., World]]:
    made: list[World] = []

    def make(**kwargs: object) -> World:
        w = World(tmp_path / f"world{len(made)}", template_store, **kwargs)  # type: ignore[arg-type]
        made.append(w)
        return w

    yield make
    for w in made:
        w.stop()


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()


@pytest.fixture
def push_service() -> Iterator[PushService]:
    """A loopback push service (tests/web/push/pushservice.py), stopped afterwards."""
    service = PushService().start()
    yield service
    service.stop()
