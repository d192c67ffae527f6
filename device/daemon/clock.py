"""Whether the system clock is synchronised: a Pi has no clock battery, and until NTP has set
the time its wall clock may be days or years off, so clips recorded then carry wrong times.

Two sources, either of which says "synchronised": the flag file systemd-timesyncd creates
once it has set the clock (it lives in /run, so it is gone at every boot), and the kernel's
own NTP state (adjtimex: no STA_UNSYNC bit, not TIME_ERROR), which chrony and ntpd keep too.
Under the service's sandbox the adjtimex call is refused (ProtectClock=, the @privileged
filter); a clock that cannot be checked counts as not synchronised.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("doorcam")

TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")
STA_UNSYNC = 0x0040
TIME_ERROR = 5

Probe = Callable[[], bool]


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """Linux `struct timex` (sys/timex.h); only `modes` and `status` are used."""

    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long), ("time", _Timeval), ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


def kernel_synced() -> bool | None:
    """The kernel's NTP state (read only: modes = 0); None when it cannot be read."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR and not tx.status & STA_UNSYNC


def system_probe(flag: Path = TIMESYNCD_FLAG) -> bool:
    """True once the system clock is synchronised (see the module docstring)."""
    if flag.exists():
        return True
    return kernel_synced() is True


class ClockWatch:
    """The clock's state as last sampled, with a log line when it changes.

    `sample()` runs on the motion thread once per clip; `synced` is read by the status side.
    """

    def __init__(self, probe: Probe = system_probe) -> None:
        self._probe = probe
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
