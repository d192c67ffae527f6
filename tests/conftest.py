"""Shared fixtures: the real-footage directory and a scratch store."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import require

REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("DOORCAM_TEST_DATA", REPO.parent / "shared" / "data"))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker (`make unit`): the tests of a module that share a module-scoped
    fixture (a simulation, a server) get one `xdist_group`, so that the fixture is made once
    and not once per worker; grouped tests (also those marked by hand: they share a cached
    tree or a build, and are the suite's longest) come first, in their own order, so that
    they run beside the rest instead of after it. Every worker sorts alike."""
    if not hasattr(config, "workerinput"):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is None and _uses_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)


def _uses_a_module_fixture(item: pytest.Item) -> bool:
    info = item._fixtureinfo if isinstance(item, pytest.Function) else None
    return info is not None and any(defs[-1].scope == "module"
                                    for defs in info.name2fixturedefs.values() if defs)


@pytest.fixture(scope="session")
def test_data() -> Path:
    """The shared real-footage folder; skips (CI: fails) when it is absent."""
    d = data_dir()
    require((d / "README.md").exists(),
            f"real footage not found at {d}; set DOORCAM_TEST_DATA to ../shared/data")
    return d


@pytest.fixture
def make_tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a real tmpfs of the given size (e.g. "6m"); skips where mounting is not allowed."""
    mounted: list[Path] = []

    def make(size: str) -> Path:
        mnt = tmp_path / f"disk{len(mounted)}"
        mnt.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                              capture_output=True, text=True, check=False)
        require(done.returncode == 0,
                f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
        mounted.append(mnt)
        return mnt

    yield make
    for mnt in mounted:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.fixture
def shm() -> Iterator[Path]:
    """A fresh directory on tmpfs (/dev/shm) for a live view, removed afterwards."""
    from capture.live.place import filesystem_of

    require(Path("/dev/shm").is_dir() and filesystem_of(Path("/dev/shm")) == "tmpfs",
            "needs /dev/shm on tmpfs")
    d = Path(tempfile.mkdtemp(prefix="doorcam-test-", dir="/dev/shm"))
    yield d / "live"
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def pins() -> Iterator[Any]:
    """gpiozero's mock pin factory for the test (tests/gpio_pins.py)."""
    from tests.gpio_pins import mock_factory

    yield from mock_factory()
