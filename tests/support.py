"""Helpers every test may use: what a test needs from the machine, and waiting on readiness."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def require(available: object, reason: str) -> None:
    """A test needs something from the machine (a broker, root, tmpfs, debootstrap, a
    browser): without it the test skips on a developer's machine, with `reason`, and fails
    under CI (env `CI` set), where everything it needs is installed."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: everything a test needs must be installed)")
    pytest.skip(reason)


def wait_until(predicate: Callable[[], object], timeout: float, what: str,
               poll: float = 0.01) -> None:
    """Wait for a condition (a file, a log line, a state), failing with `what` after
    `timeout` seconds. The timeout is a generous bound for a loaded machine, not a pace."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


@contextlib.contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Hold `folder`'s build lock (a `.lock` file in it, created with the folder): xdist
    workers and other test runs wanting the same cached build wait here while the first
    builds it, then find it done."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this test run that all its xdist workers share (each worker's own
    temporary folders are below it); in a run without xdist, the run's own folder."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
