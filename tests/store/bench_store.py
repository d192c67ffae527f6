"""Benchmark (not a test): commit, list and prune speed of the clip store.

Run: .venv/bin/python tests/store/bench_store.py [DIR] — DIR should be on the disk you
care about (an SD card behaves very differently from tmpfs: commit cost is mostly fsync).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from device.store import ClipStore
from tests.store.helpers import meta, store_config

CLIP_BYTES = 4_000_000  # about 20 s of 720p H.264
COMMITS = 20
ROWS = 5_000


def timed(label: str, n: int, fn: object) -> None:
    assert callable(fn)
    start = time.perf_counter()
    fn()
    spent = time.perf_counter() - start
    print(f"{label:<34} {spent / n * 1e3:9.2f} ms each ({n} in {spent:.2f} s)")


def main(base: Path) -> None:
    with ClipStore(store_config(base / "bench", max_size_mb=1)) as store:
        payload = os.urandom(CLIP_BYTES)

        def commits() -> None:
            for _ in range(COMMITS):
                h = store.begin()
                h.tmp_path.write_bytes(payload)
                store.commit(h, meta())

        timed(f"commit {CLIP_BYTES // 10**6} MB clip (hash+fsync)", COMMITS, commits)
        with store._conn:  # newer, empty rows straight into the index, to time queries
            for i in range(ROWS):
                store._conn.execute(
                    "INSERT INTO clips (id, start_wall, size, held) VALUES (?, ?, 0, 0)",
                    (f"20300101T000000Z-{i:08x}", 1.8e9 + i))
        timed(f"list() of {ROWS + COMMITS} rows", 10, lambda: [store.list() for _ in range(10)])
        timed("list(limit=50)", 100, lambda: [store.list(limit=50) for _ in range(100)])
        timed(f"prune() removing {COMMITS} clips", 1, store.prune)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
