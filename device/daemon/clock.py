"""Whether the system clock is synchronised: a Pi has no clock battery, and until NTP has set
the time its wall clock may be days or years off, so clips recorded then carry wrong times.

Two sources, either of which says "synchronised": the flag file systemd-timesyncd creates
once it has set the clock (it lives in /run, so it is gone at every boot), and the kernel's
own NTP state (adjtimex: no STA_UNSYNC bit, not TIME_ERROR), which chrony and ntpd keep too.
A clock that cannot be checked counts as not synchronised. The kernel's state also bounds the
clock's error, which each clip records; the service's sandbox lets the daemon read it
(adjtimex with modes = 0) and nothing more: without CAP_SYS_TIME the kernel refuses changes.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from pathlib import Path

from capture.recording.sink import ClipClock
from device.daemon.kernel_clock import ClockReader, KernelClock, read_kernel_clock

log = logging.getLogger("doorcam")

TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
Probe = Callable[[], bool]


def kernel_synced(read: ClockReader = read_kernel_clock) -> bool | None:
    """The kernel's NTP state; None when it cannot be read."""
    state = read()
    return None if state is None else state.synchronised


def system_probe(flag: Path = TIMESYNCD_FLAG) -> bool:
    """True once the system clock is synchronised (see the module docstring)."""
    if flag.exists():
        return True
    return kernel_synced() is True


class ClockWatch:
    """The clock's state as last sampled, with a log line when it changes.

    `stamp()` runs on the motion thread once per clip; `synced` is read by the status side.
    """

    def __init__(self, probe: Probe = system_probe,
                 kernel: ClockReader = read_kernel_clock) -> None:
        self._probe = probe
        self._kernel = kernel
        self._unreadable_told = False
        self._lock = threading.Lock()  # sampled by the motion, status and main threads
        self.synced: bool | None = None  # not sampled yet

    def sample(self) -> bool:
        try:
            synced = bool(self._probe())
        except OSError:
            synced = False
        with self._lock:
            changed, self.synced = synced != self.synced, synced
        if changed and synced:
            log.info("system clock synchronised: clips from now on carry reliable times")
        elif changed:
            log.warning("system clock not synchronised (no network time yet): clips "
                        "recorded now are marked and never matched to agency requests")
        return synced

    def stamp(self) -> ClipClock:
        """The clock for a clip opening now: synchronised or not, and the kernel's error
        bounds when it says synchronised too (under a sandbox that refuses adjtimex the
        bounds are not known)."""
        if not self.sample():
            return ClipClock(synced=False)
        return ClipClock(True, *error_ms(self.read_kernel()))

    def read_kernel(self) -> KernelClock | None:
        """The kernel's clock state; the first time it cannot be read, a warning."""
        try:
            state = self._kernel()
        except OSError:
            state = None
        if state is None and not self._unreadable_told:
            self._unreadable_told = True
            log.warning("the kernel's clock state cannot be read (adjtimex refused): clips "
                        "record no bound on the clock's error")
        return state


def error_ms(state: KernelClock | None) -> tuple[int | None, int | None]:
    """(max, estimated) error in whole milliseconds, the bound rounded up; both None unless
    the kernel says the clock is synchronised."""
    if state is None or not state.synchronised:
        return None, None
    return math.ceil(state.max_error_us / 1000), round(state.est_error_us / 1000)
