"""The system clock's state: the probe (timesyncd's flag file, the kernel's NTP state) and
the watch the daemon samples per clip and for its status."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from device.daemon.clock import ClockWatch, kernel_synced, system_probe


def test_timesyncd_flag_file_means_synchronised(tmp_path: Path) -> None:
    flag = tmp_path / "synchronized"
    flag.touch()
    assert system_probe(flag) is True


def test_without_the_flag_the_kernel_decides(tmp_path: Path) -> None:
    kernel = kernel_synced()
    if sys.platform.startswith("linux"):
        assert kernel in (True, False), "adjtimex(modes=0) is readable without privileges"
    assert system_probe(tmp_path / "absent") is (kernel is True)


def test_watch_logs_each_change_once_and_counts_errors_as_unsynchronised(
        caplog: pytest.LogCaptureFixture) -> None:
    states: list[bool | OSError] = [False, False, True, True, OSError("gone")]

    def probe() -> bool:
        s = states.pop(0)
        if isinstance(s, OSError):
            raise s
        return s

    watch = ClockWatch(probe)
    assert watch.synced is None
    with caplog.at_level(logging.INFO, logger="doorcam"):
        got = [watch.sample() for _ in range(5)]
    assert got == [False, False, True, True, False]
    assert watch.synced is False
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert "not synchronised" in lines[0] and "synchronised" in lines[1]
    assert "not synchronised" in lines[2]
