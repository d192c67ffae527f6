"""Whole-pipeline benchmarks: simulate throughput vs decode-only, and peak RSS at 1080p.

Figures are ratios measured in one run on a shared machine; absolute numbers are context.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from capture.sources import open_source  # noqa: E402
from config import CaptureConfig  # noqa: E402
from device.cli import main as doorcam  # noqa: E402


def decode_only(path: Path) -> tuple[int, float]:
    """Decode every frame as fast as PyAV can (threaded), touching nothing else."""
    start = time.perf_counter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        n = sum(1 for _ in container.decode(stream))
    return n, time.perf_counter() - start


def source_only(path: Path) -> float:
    """Iterate the project's frame source: decode + lores image + H.264 packet copies."""
    start = time.perf_counter()
    src = open_source(str(path), CaptureConfig(), pace=None)
    for _ in src.frames():
        pass
    src.close()
    return time.perf_counter() - start


def simulate_max(path: Path, store: Path) -> float:
    start = time.perf_counter()
    code = doorcam(["simulate", str(path), "--speed", "max", "--quiet", "--store", str(store)])
    elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"simulate failed with exit code {code}")
    return elapsed


def throughput(path: Path, repeats: int) -> dict[str, float]:
    best_decode = best_source = best_sim = float("inf")
    frames = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):  # interleaved, best of N: the machine is shared
            frames, t = decode_only(path)
            best_decode = min(best_decode, t)
            best_source = min(best_source, source_only(path))
            best_sim = min(best_sim, simulate_max(path, Path(tmp) / f"s{i}"))
    return {
        "frames": frames,
        "decode_fps": frames / best_decode,
        "source_fps": frames / best_source,
        "simulate_fps": frames / best_sim,
        "source_over_decode": best_decode / best_source,
        "simulate_over_decode": best_decode / best_sim,
    }


def make_1080p_h264(dest: Path, seconds: int) -> Path:
    """A 1080p H.264 file of the synthetic porch scene (a realistic camera stream)."""
    code = subprocess.run(
        [sys.executable, "-c", (
            "import sys; from bench.make_video import write_synthetic; "
            f"write_synthetic({str(dest)!r}, 'synthetic:porch?seconds={seconds}&size=1920x1080')"
        )], cwd=REPO, check=False).returncode
    if code != 0:
        raise SystemExit("could not make the 1080p test video")
    return dest


_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


def peak_rss_mb(args: list[str]) -> float:
    """Peak RSS of one `doorcam` process: the kernel's own maximum, read by a parent whose
    only child it is (so no other child of ours can mask it)."""
    done = subprocess.run([sys.executable, "-c", _WRAPPER, sys.executable, "-m", "device.cli",
                           *args], cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"doorcam {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return int(done.stdout.strip().splitlines()[-1]) / 1024.0


UNIT = REPO / "deploy" / "doorcam.service"
Runs = list[tuple[float, float]]

_RUN_WRAPPER = (
    "import resource, signal, subprocess, sys, time\n"
    "p = subprocess.Popen(sys.argv[2:], stderr=subprocess.DEVNULL)\n"
    "time.sleep(float(sys.argv[1])); p.send_signal(signal.SIGTERM); code = p.wait()\n"
    "r = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(r.ru_maxrss, r.ru_utime + r.ru_stime)\n"
    "sys.exit(code)\n"
)


def unit_environment(unit: Path = UNIT) -> dict[str, str]:
    """The `Environment=` settings of the daemon's systemd unit. The allocator reads its
    settings when the process starts, so they must be in place before `doorcam run` is."""
    env: dict[str, str] = {}
    for line in unit.read_text(encoding="utf-8").splitlines():
        if line.startswith("Environment="):
            for item in shlex.split(line.removeprefix("Environment=")):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def run_config(video: Path, store: Path) -> Path:
    """A config for `doorcam run` on `video`, looping, 5 s pre-roll, clips under `store`."""
    cfg = store.with_suffix(".toml")
    cfg.write_text(f'[capture]\nsource = "{video}"\nloop = true\n'
                   f'[recording]\npre_roll_seconds = 5.0\n'
                   f'[store]\npath = "{store}"\n', encoding="utf-8")
    return cfg


def run_rss_cpu(config: Path, seconds: float, env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MB, CPU seconds) of `doorcam run` (camera, motion and recording threads)
    over `seconds`, started with `env` over ours minus the unit's settings."""
    base = {k: v for k, v in os.environ.items() if k not in unit_environment()}
    done = subprocess.run([sys.executable, "-c", _RUN_WRAPPER, str(seconds), sys.executable,
                           "-m", "device.cli", "run", "--config", str(config)], cwd=REPO,
                          env={**base, **env}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"doorcam run failed: {done.stderr.strip()[-500:]}")
    maxrss, cpu = done.stdout.strip().splitlines()[-1].split()
    return int(maxrss) / 1024.0, float(cpu)


def run_as_unit_vs_bare(video: Path, tmp: Path, seconds: float,
                        repeats: int) -> tuple[dict[str, float], dict[str, Runs]]:
    """`doorcam run` with the unit's environment and without it, alternately (the machine
    is shared), each on a fresh store, median of `repeats` each; at real-time pace both
    handle the same frames, so their CPU times compare per frame. Returns the medians and
    every run's (peak RSS MB, CPU s)."""
    unit: Runs = []
    bare: Runs = []
    for i in range(repeats):
        unit.append(run_rss_cpu(run_config(video, tmp / f"unit{i}"), seconds,
                                unit_environment()))
        bare.append(run_rss_cpu(run_config(video, tmp / f"bare{i}"), seconds, {}))
    rss_unit = statistics.median(r for r, _ in unit)
    rss_bare = statistics.median(r for r, _ in bare)
    cpu_unit = statistics.median(c for _, c in unit)
    cpu_bare = statistics.median(c for _, c in bare)
    return {"rss_mb": rss_unit, "rss_mb_without_unit_env": rss_bare,
            "rss_ratio": rss_unit / rss_bare, "cpu_s": cpu_unit,
            "cpu_s_without_unit_env": cpu_bare, "cpu_ratio": cpu_unit / cpu_bare}, {
            "unit": unit, "without": bare}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=os.environ.get(
        "DOORCAM_TEST_DATA", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--run-repeats", type=int, default=3,
                        help="30 s `doorcam run` pairs (unit environment / without), median")
    parser.add_argument("--out", help="write the figures as JSON here")
    parser.add_argument("--run-only", action="store_true",
                        help="only the `doorcam run` peak RSS pairs (the daemon's row)")
    args = parser.parse_args()
    traffic = Path(args.data) / "dvrscan" / "traffic_camera.mp4"
    if not traffic.exists() and not args.run_only:
        raise SystemExit(f"missing {traffic}: set --data or DOORCAM_TEST_DATA")
    result: dict[str, object] = {}
    if not args.run_only:
        result["traffic_720p_h264"] = throughput(traffic, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "preroll5.toml"
        cfg.write_text("[recording]\npre_roll_seconds = 5.0\n", encoding="utf-8")
        video = make_1080p_h264(Path(tmp) / "porch1080.mp4", 30)
        rss = {} if args.run_only else {
            "h264_file_1080p_5s_preroll": peak_rss_mb(
                ["simulate", str(video), "--quiet", "--config", str(cfg),
                 "--store", str(Path(tmp) / "a")]),
            "synthetic_1080p_5s_preroll_reencode": peak_rss_mb(
                ["simulate", "synthetic:porch?seconds=30&size=1920x1080", "--quiet",
                 "--config", str(cfg), "--store", str(Path(tmp) / "b")]),
        }
        run, runs = run_as_unit_vs_bare(video, Path(tmp), 30, args.run_repeats)
        rss["doorcam_run_1080p_h264_5s_preroll_30s"] = run["rss_mb"]
    result["peak_rss_mb"] = rss
    result["doorcam_run_unit_env"] = {"environment": unit_environment(), **run,
                                      "runs_rss_mb_cpu_s": runs}
    t = result.get("traffic_720p_h264")
    if isinstance(t, dict):
        print("\n## Pipeline (720p H.264 traffic clip, best of "
              f"{args.repeats})\n")
        print(f"decode only         : {t['decode_fps']:8.0f} frames/s")
        print(f"frame source        : {t['source_fps']:8.0f} frames/s "
              f"({t['source_over_decode']:.0%} of decode)")
        print(f"simulate --speed max: {t['simulate_fps']:8.0f} frames/s "
              f"({t['simulate_over_decode']:.0%} of decode; target >= 70%)")
    print("\n## Peak RSS, 1080p, 5 s pre-roll (target <= 150 MB)\n")
    for name, mb in rss.items():
        print(f"{name:40s}: {mb:6.1f} MB")
    env = " ".join(f"{k}={v}" for k, v in unit_environment().items()) or "none"
    print(f"\n`doorcam run` with the unit's environment ({env}) vs without, median of "
          f"{args.run_repeats}: peak RSS {run['rss_mb']:.1f} / "
          f"{run['rss_mb_without_unit_env']:.1f} MB ({run['rss_ratio']:.2f}x), "
          f"CPU {run['cpu_s']:.1f} / "
          f"{run['cpu_s_without_unit_env']:.1f} s ({run['cpu_ratio']:.2f}x)")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
