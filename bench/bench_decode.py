"""Decode-only fps vs full frame-source fps (lores + packets) on the traffic clip, one run.

Usage: .venv/bin/python bench/bench_decode.py [path] [repeats]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import av

from capture.sources import open_source
from config.schema import CaptureConfig

DATA = Path(os.environ.get("DOORCAM_TEST_DATA", Path(__file__).resolve().parents[2] / "shared"
                           / "data"))


def decode_only(path: Path) -> tuple[int, float]:
    t = time.perf_counter()
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        st.thread_type = "AUTO"
        n = sum(1 for _ in c.decode(st))
    return n, time.perf_counter() - t


def full_source(path: Path) -> tuple[int, float]:
    t = time.perf_counter()
    src = open_source(str(path), CaptureConfig(), pace=None)
    n = sum(1 for _ in src.frames())
    src.close()
    return n, time.perf_counter() - t


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA / "dvrscan" / "traffic_camera.mp4"
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    best_dec, best_src = float("inf"), float("inf")
    frames = 0
    for _ in range(repeats):  # interleaved, best of N: the machine is shared
        frames, dt = decode_only(path)
        best_dec = min(best_dec, dt)
        n, dt = full_source(path)
        assert n == frames, (n, frames)
        best_src = min(best_src, dt)
    dec_fps, src_fps = frames / best_dec, frames / best_src
    print(f"{path.name}: {frames} frames, best of {repeats}")
    print(f"decode only      {dec_fps:8.1f} fps")
    print(f"full source      {src_fps:8.1f} fps  (Y view + INTER_AREA lores + packet copy)")
    print(f"ratio            {src_fps / dec_fps:8.3f}")


if __name__ == "__main__":
    main()
