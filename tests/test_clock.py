"""The system clock's state: the probe (timesyncd's flag file, the kernel's NTP state), the
kernel's error bounds, and the watch the daemon samples per clip and for its status."""

from __future__ import annotations

import ctypes
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from capture.media.h264 import H264Encoder
from capture.recording import Recorder
from capture.recording.sink import ClipClock
from device.cli import main
from device.daemon.clock import ClockWatch, kernel_synced, system_probe
from device.daemon.kernel_clock import (
    MAX_ERROR_LIMIT_US,
    KernelClock,
    _Timex,
    read_kernel_clock,
)
from device.store import ClipStore
from tests.recording.helpers import frame
from tests.recording.test_recorder import CFG, FPS, INFO
from tests.store.helpers import store_config
from tests.support import require


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


def test_the_kernel_clock_reads_without_privileges_into_the_kernels_layout() -> None:
    require(sys.platform.startswith("linux"), "adjtimex(2) is Linux's")
    booted = time.monotonic()  # CLOCK_BOOTTIME never runs behind CLOCK_MONOTONIC
    state = read_kernel_clock()
    assert state is not None, "adjtimex(modes=0) is readable without privileges"
    assert 0 <= state.max_error_us <= MAX_ERROR_LIMIT_US
    assert 0 <= state.est_error_us <= MAX_ERROR_LIMIT_US
    assert state.since_boot_s >= booted
    assert kernel_synced(lambda: state) is state.synchronised
    # Fields after maxerror hold what the kernel puts there only if every offset is right:
    # the time, the tick in µs per USER_HZ, and the fixed frequency tolerance (500 ppm).
    tx = _Timex()
    assert ctypes.CDLL(None).adjtimex(ctypes.byref(tx)) >= 0
    assert abs(tx.time.tv_sec - time.time()) < 5
    assert tx.tick == 1_000_000 // os.sysconf("SC_CLK_TCK")
    assert tx.tolerance == 500 << 16


def test_a_clip_is_stamped_with_the_kernels_error_bounds_only_when_synchronised(
        caplog: pytest.LogCaptureFixture) -> None:
    synced = KernelClock(True, max_error_us=12_001, est_error_us=2_400, since_boot_s=60.0)
    unsynced = KernelClock(False, MAX_ERROR_LIMIT_US, MAX_ERROR_LIMIT_US, 5.0)
    asked: list[str] = []

    def reader(state: KernelClock | None) -> Callable[[], KernelClock | None]:
        def read() -> KernelClock | None:
            asked.append("kernel")
            return state
        return read

    # The bound is rounded up: 12.001 ms is not within 12 ms.
    assert ClockWatch(lambda: True, reader(synced)).stamp() == ClipClock(True, 13, 2)
    # timesyncd's flag says synchronised but the kernel cannot be read (a sandbox): said once.
    refused = ClockWatch(lambda: True, reader(None))
    with caplog.at_level(logging.WARNING, logger="doorcam"):
        assert [refused.stamp(), refused.stamp()] == [ClipClock(True, None, None)] * 2
    assert ["cannot be read" in r.getMessage() for r in caplog.records] == [True]
    assert ClockWatch(lambda: True, reader(unsynced)).stamp() == ClipClock(True, None, None)
    asked.clear()
    assert ClockWatch(lambda: False, reader(synced)).stamp() == ClipClock(False, None, None)
    assert asked == [], "no bounds are read for a clock that is not synchronised"


def test_clips_show_states_the_clock_on_one_line(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    clocks = [ClipClock(True, 12, 3), ClipClock(True), ClipClock(False)]
    want = ["clock: synchronised, error ≤ 12 ms", "clock: synchronised, error bound not known",
            "clock: not synchronised at capture"]
    root = tmp_path / "store"
    with ClipStore(store_config(root)) as store:
        rec = Recorder(CFG, INFO, store, H264Encoder(CFG), clock=lambda: clocks.pop(0))
        events = [range(20, 30), range(90, 100), range(160, 170)]  # far apart: three clips
        clips = [c for i in range(230) for c in rec.push(frame(i, FPS),
                                                         any(i in e for e in events), 1.0)]
        clips += rec.close()
    assert len(clips) == 3 and not clocks
    for clip, line in zip(clips, want, strict=True):
        assert main(["clips", "show", clip.id, "--store", str(root)]) == 0
        out = capsys.readouterr().out
        clock = [x.strip() for x in out.splitlines() if "clock" in x]
        assert len(clock) == 1 and clock[0].startswith(line), out
    assert main(["clips", "show", clips[0].id, "--store", str(root), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["clock_synced"], shown["clock_max_error_ms"]) == (True, 12)
