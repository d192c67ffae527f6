"""The kernel's clock discipline state, read with adjtimex(2) (modes = 0: read only, no
privilege needed): whether the clock is synchronised and the kernel's bounds on its error.

An NTP client (systemd-timesyncd, chrony, ntpd) sets `maxerror` and `esterror` when it
disciplines the clock; the kernel then adds 500 µs to `maxerror` every second until the next
update, up to 16 s, and marks the clock unsynchronised (STA_UNSYNC, TIME_ERROR) once it gets
there.
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass
from typing import Protocol

STA_UNSYNC = 0x0040
TIME_ERROR = 5
MAX_ERROR_LIMIT_US = 16_000_000  # the kernel's NTP_PHASE_LIMIT


@dataclass(frozen=True)
class KernelClock:
    """One reading of the kernel's clock state."""

    synchronised: bool
    max_error_us: int  # upper bound of the clock's error
    est_error_us: int  # the NTP client's estimate of it
    since_boot_s: float  # CLOCK_BOOTTIME: includes time suspended


class ClockReader(Protocol):
    def __call__(self) -> KernelClock | None:
        """The clock's state now; None when it cannot be read (refused by a sandbox)."""
        ...


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """`struct timex` of glibc's sys/timex.h, as the `adjtimex` symbol takes it: the fields
    are `long` (the kernel's `__kernel_long_t`) wherever the kernel has them, so one layout
    fits x86_64 and aarch64 alike; the reserved tail is the kernel's eleven `int :32`."""

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


def read_kernel_clock() -> KernelClock | None:
    """The kernel's clock state (a `ClockReader`)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        tx = _Timex()  # zeroed: modes = 0 changes nothing
        state = libc.adjtimex(ctypes.byref(tx))
        since_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return KernelClock(synchronised=state != TIME_ERROR and not tx.status & STA_UNSYNC,
                       max_error_us=int(tx.maxerror), est_error_us=int(tx.esterror),
                       since_boot_s=since_boot)
