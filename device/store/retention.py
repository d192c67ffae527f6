"""Which clips retention removes: by age, by total size, by free disk space; oldest first.

Sizes in the config are megabytes of 1,000,000 bytes, the unit `doorcam clips list` prints.
Held clips are never candidates, but their bytes still count towards the size quota.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from config import StoreConfig

MB = 1_000_000
DAY_S = 86_400.0


class DiskUsageResult(Protocol):
    @property
    def free(self) -> int: ...


class DiskUsage(Protocol):
    """`shutil.disk_usage`, or a test double standing in for a filling disk."""

    def __call__(self, path: Path, /) -> DiskUsageResult: ...


@dataclass(frozen=True)
class Limits:
    """Retention limits in seconds and bytes; 0 switches a limit off."""

    max_age_s: float
    max_bytes: int
    min_free_bytes: int

    @classmethod
    def from_config(cls, cfg: StoreConfig) -> Limits:
        return cls(max_age_s=cfg.max_age_days * DAY_S, max_bytes=cfg.max_size_mb * MB,
                   min_free_bytes=cfg.min_free_mb * MB)


@dataclass(frozen=True)
class Plan:
    """The clips to remove, and whether removing them satisfies every limit."""

    remove: list[str]
    freed: int
    over_quota: bool  # still above max_size_mb afterwards (held clips fill the quota)
    low_space: bool  # still below min_free_mb afterwards


def plan(candidates: Iterable[tuple[str, float, int]], *, limits: Limits, now: float,
         total_bytes: int, free_bytes: int | None) -> Plan:
    """Pick from `candidates` ((id, start_wall, size), oldest first, none held).

    `free_bytes` is the disk's free space now (None when min_free is off); removing a clip
    is assumed to free its size, so the disk is asked once, not after every deletion.
    """
    remove: list[str] = []
    freed = 0

    def over_quota() -> bool:
        return limits.max_bytes > 0 and total_bytes - freed > limits.max_bytes

    def low_space() -> bool:
        return (limits.min_free_bytes > 0 and free_bytes is not None
                and free_bytes + freed < limits.min_free_bytes)

    cutoff = now - limits.max_age_s
    for clip_id, start_wall, size in candidates:
        too_old = limits.max_age_s > 0 and start_wall < cutoff
        # Candidates are oldest first: once none of the reasons applies, none will later.
        if not (too_old or over_quota() or low_space()):
            break
        remove.append(clip_id)
        freed += size
    return Plan(remove, freed, over_quota(), low_space())


def wants_free_space(limits: Limits) -> bool:
    return limits.min_free_bytes > 0
