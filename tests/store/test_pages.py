"""Pages of the index the owner's app reads: keyset pages newest first in both directions,
a trigger filter, a time range and counts, matching a plain sort of every row."""

from __future__ import annotations

from pathlib import Path

from device.store import index
from device.store.index import ClipRecord
from device.store.view import ClipView

T0 = 1_800_000_000.0


def record(n: int, start: float, trigger: str) -> ClipRecord:
    return ClipRecord(id=f"20270115T000000Z-{n:08x}", start_wall=start, end_wall=start + 5,
                      duration=5.0, start_pts=0.0, first_seq=0, last_seq=49, frames=50,
                      width=320, height=240, size=1000 + n, sha256="0" * 64, peak_score=0.1,
                      held=False, created=start, trigger=trigger)


def build(tmp_path: Path) -> list[ClipRecord]:
    (tmp_path / "clips").mkdir()
    conn = index.connect(tmp_path / "index.sqlite3")
    rows = []
    for n in range(57):
        # Two clips share each third start time: the id breaks the tie.
        rows.append(record(n, T0 - (n // 2) * 60.0 if n % 3 else T0 - n * 60.0,
                           "ring" if n % 7 == 0 else "motion"))
    for r in rows:
        index.insert(conn, r)
    conn.close()
    return sorted(rows, key=lambda r: (r.start_wall, r.id), reverse=True)


def test_keyset_pages_walk_every_clip_once_both_ways(tmp_path: Path) -> None:
    expected = build(tmp_path)
    with ClipView(tmp_path) as view:
        seen, cursor = [], None
        while True:
            rows = view.page(10, before=cursor)
            if not rows:
                break
            seen.extend(rows)
            cursor = (rows[-1].start_wall, rows[-1].id)
        assert seen == expected
        back, cursor = [], (expected[-1].start_wall, expected[-1].id)
        while True:
            rows = view.page(10, after=cursor)
            if not rows:
                break
            back = rows + back
            cursor = (rows[0].start_wall, rows[0].id)
        assert back == expected[:-1]
        rings = [r for r in expected if r.trigger == "ring"]
        assert view.page(100, trigger="ring") == rings
        assert view.count(trigger="ring") == len(rings) > 3
        start, end = expected[30].start_wall, expected[10].start_wall
        assert view.page(100, start=start, end=end) == [
            r for r in expected if start <= r.start_wall < end]
        here = expected[20]
        assert view.count(newer_than=(here.start_wall, here.id)) == 20
        assert view.page(2, before=(here.start_wall, here.id), inclusive=True) == \
            expected[20:22]
        assert view.count() == len(expected)


def test_an_absent_store_has_no_pages(tmp_path: Path) -> None:
    with ClipView(tmp_path / "none") as view:
        assert view.page(10) == [] and view.count() == 0
