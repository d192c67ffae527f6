"""`make bench`: run every benchmark in turn and collect one report.

Each benchmark runs in its own process (so peak-RSS figures are per process) and prints its
own table; the JSON results land in --out. Figures are ratios measured in one run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ("bench_motion", "bench_people", "bench_recording", "bench_pipeline", "bench_web",
           "bench_ring", "bench_fanout", "bench_live", "bench_hacamera")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="bench-results")
    parser.add_argument("--only", nargs="*", choices=BENCHES)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.only or BENCHES:
        script = HERE / f"{name}.py"
        print(f"\n=== {name} ===", flush=True)
        code = subprocess.run([sys.executable, str(script), "--out",
                               str(out / f"{name}.json")], cwd=HERE.parent).returncode
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"\nresults in {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
