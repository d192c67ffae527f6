"""The owner's web app, one run: peak RSS of the web process with push on, p95 page time with
1,000 clips in the store and again with 10,000 (the timeline, its filters, a day jump and a
page deep in the past, and the clips page), and how long a shown request takes to reach the
owner's browser as a push (loopback push service).

Usage: .venv/bin/python bench/bench_web.py [--clips N] [--big-clips N] [--samples N]
                                           [--out results.json]

The device is the web tests' world (tests/web/world.py): real keys and signed registry, a
store made by one short `doorcam simulate` whose first clip and thumbnail are then hard-linked
under N ids with index rows (the store's own `index.insert`), signed requests imported with
`doorcam requests import`, and `python3 -m device.web` over TLS as the service runs it. The
push service is the tests' loopback one (tests/web/push/pushservice.py): it checks VAPID and
decrypts each push as the browser would. Figures are from one run on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.e2e.test_consent_e2e import doorcam  # noqa: E402
from tests.web.helpers import login  # noqa: E402
from tests.web.push.pushservice import PushService  # noqa: E402
from tests.web.test_push_app import push_on  # noqa: E402
from tests.web.world import World  # noqa: E402
from uplink.desk.book import RequestBook  # noqa: E402

PAGES = ("/", "/requests", "/clips", "/live", "/activity", "/device")
RING_EVERY = 25  # in the big store, one clip in 25 is a doorbell ring
FLOOR = "/static/icon.svg"  # a static file: what any request costs this server on this machine
TARGETS = {"peak_rss_mb": 60.0, "p95_ms": 150.0, "push_s": 2.0}


def make_template(tmp: Path) -> Path:
    """A store with a few real clips from a short synthetic scene."""
    store = tmp / "template"
    done = doorcam("simulate", "synthetic:porch?seconds=12&size=320x240", "--store",
                   str(store), "--quiet")
    if done.returncode != 0:
        raise SystemExit(f"simulate failed: {done.stderr.strip()}")
    return store


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def page_times(world: World, s: Any, url: str, samples: int,
               pages: tuple[str, ...] = PAGES) -> dict[str, dict[str, float]]:
    out = {}
    for path in pages:
        assert s.get(url + path).status_code == 200  # warm: templates compiled, caches
    times: dict[str, list[float]] = {p: [] for p in (*pages, FLOOR)}
    for _ in range(samples):  # interleaved, so a busy moment of the machine hits all pages
        for path in (*pages, FLOOR):
            start = time.perf_counter()
            r = s.get(url + path)
            times[path].append((time.perf_counter() - start) * 1e3)
            if r.status_code != 200:
                raise SystemExit(f"{path}: HTTP {r.status_code}")
    for path, ms in times.items():
        out[path] = {"p50_ms": statistics.median(ms), "p95_ms": p95(ms), "max_ms": max(ms)}
    return out


def push_latency(world: World, service: PushService, requests: int) -> list[float]:
    """Seconds from a request being shown (its `shown_at` in the request book) to the
    push service receiving the encrypted push for it."""
    out = []
    for _ in range(requests):
        before = len(service.deliveries)
        rid = world.import_request()
        if not service.wait_for(before + 1, timeout=30):
            raise SystemExit("no push arrived: " + "".join(world.log[-5:]))
        book = RequestBook(world.store / "uplink.sqlite3")
        try:
            row = book.request(rid)
        finally:
            book.close()
        assert row is not None and row.shown_at is not None
        got = next(d for d in service.deliveries if d.message.get("tag") == f"request-{rid}")
        out.append(got.at - row.shown_at)
    return out


def big_store_pages(world: World, big: int) -> tuple[int, tuple[str, ...]]:
    """Fill the store to `big` clips, one in RING_EVERY a ring (the column the recorder
    sets); the pages to time: the timeline and its ring filter, a day jump to the middle of
    the store, the page after the middle clip, and the clips page."""
    from device.store import index
    from device.store.files import Layout
    from device.web.pages.timeline import cursor_text

    stored = world.fill_store(big)
    conn = index.connect(Layout(world.store).index)
    try:
        records = index.newest_first(conn, None, None)
        conn.executemany("UPDATE clips SET trigger = 'ring' WHERE id = ?",
                         [(r.id,) for r in records[::RING_EVERY]])
    finally:
        conn.close()
    middle = records[len(records) // 2]
    day = time.strftime("%Y-%m-%d", time.localtime(middle.start_wall))
    return stored, ("/", "/?kind=ring", f"/?day={day}", f"/?before={cursor_text(middle)}",
                    "/clips", f"/clips?before={cursor_text(middle)}")


def run(clips: int, samples: int, pushes: int, big: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        template = make_template(tmp)
        service = PushService().start()
        world = World(tmp / "world", template, web=push_on(service))
        try:
            stored = world.fill_store(clips)  # a quarter of an hour apart, back in time
            world.add_user()
            url = world.start()
            s = world.session()
            token = login(s, url)
            _, sub = service.subscribe()
            r = s.post(url + "/push/subscribe", data=json.dumps(sub),
                       headers={"Content-Type": "application/json", "X-CSRF-Token": token,
                                "Origin": url, "Sec-Fetch-Site": "same-origin"})
            if r.status_code != 200:
                raise SystemExit(f"subscribing failed: HTTP {r.status_code} {r.text[:200]}")
            latency = push_latency(world, service, pushes)
            pages = page_times(world, s, url, samples)
            big_stored, big_pages = big_store_pages(world, big)
            at_big = page_times(world, s, url, samples, big_pages)
            assert world.server is not None
            status = Path(f"/proc/{world.server.pid}/status").read_text()
            problems = list(service.problems)
        finally:
            world.stop()
            service.stop()
    peak = int(status.split("VmHWM:")[1].split()[0]) / 1024
    rss = int(status.split("VmRSS:")[1].split()[0]) / 1024
    return {"clips": stored, "samples_per_page": samples, "pages": pages,
            "p95_ms_worst": max(p["p95_ms"] for k, p in pages.items() if k != FLOOR),
            "big_clips": big_stored, "big_pages": at_big,
            "big_p95_ms_worst": max(p["p95_ms"] for k, p in at_big.items() if k != FLOOR),
            "push_s": latency, "push_s_max": max(latency), "push_s_median":
            statistics.median(latency), "peak_rss_mb": peak, "rss_mb_end": rss,
            "push_problems": problems, "targets": TARGETS}


def report(res: dict[str, Any]) -> None:
    print(f"web app, {res['clips']} clips in the store, push on, TLS, "
          f"{res['samples_per_page']} requests per page")
    floor = res["pages"][FLOOR]["p50_ms"]
    print(f"{'page':<17} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p50/floor':>10}")
    for path, t in res["pages"].items():
        print(f"{path:<17} {t['p50_ms']:>8.1f} {t['p95_ms']:>8.1f} {t['max_ms']:>8.1f} "
              f"{t['p50_ms'] / floor:>10.1f}")
    print(f"\nthe same with {res['big_clips']} clips in the store (one in {RING_EVERY} a ring)")
    big_floor = res["big_pages"][FLOOR]["p50_ms"]
    for path, t in res["big_pages"].items():
        print(f"{path[:40]:<40} {t['p50_ms']:>8.1f} {t['p95_ms']:>8.1f} {t['max_ms']:>8.1f} "
              f"{t['p50_ms'] / big_floor:>10.1f}")
    t = res["targets"]
    print(f"p95, worst page       {res['p95_ms_worst']:7.1f} ms  (target <= {t['p95_ms']:.0f})")
    print(f"p95, worst page at {res['big_clips']} clips {res['big_p95_ms_worst']:7.1f} ms  "
          f"(target <= {t['p95_ms']:.0f})")
    print(f"shown -> push         {res['push_s_median']:7.2f} s median, "
          f"{res['push_s_max']:.2f} s max of {len(res['push_s'])} (target <= {t['push_s']:.0f})")
    print(f"peak RSS, web process {res['peak_rss_mb']:7.1f} MB  (target <= "
          f"{t['peak_rss_mb']:.0f}; {res['rss_mb_end']:.1f} MB at the end)")
    if res["push_problems"]:
        print(f"push service problems: {res['push_problems']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--big-clips", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=40, help="requests per page")
    parser.add_argument("--pushes", type=int, default=5)
    parser.add_argument("--out")
    args = parser.parse_args()
    res = run(args.clips, args.samples, args.pushes, args.big_clips)
    res["load_average"] = os.getloadavg()
    report(res)
    print(f"load average {res['load_average'][0]:.1f} on {os.cpu_count()} cores")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))
    missed = [k for k, v in (("peak_rss_mb", res["peak_rss_mb"]),
                             ("p95_ms", res["p95_ms_worst"]), ("push_s", res["push_s_max"]),
                             ("p95_ms", res["big_p95_ms_worst"]))
              if v > TARGETS[k]]
    if missed or res["push_problems"]:
        print(f"missed: {', '.join(missed) or 'push problems'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
