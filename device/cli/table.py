"""Human-readable tables of clips."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def local(ts: float) -> str:
    """The device's local time with its UTC offset, as the owner reads a clock:
    2026-12-01 13:05:12 +01:00 (the offset of that moment, so summer time is right)."""
    t = datetime.fromtimestamp(ts).astimezone()
    offset = t.strftime("%z")
    return f"{t:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def iso(ts: float) -> str:
    """ISO 8601 with the local offset, for --json beside the epoch seconds."""
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def notes(rec: Any) -> str:
    """What sets a clip apart: not from the camera, unreliable times, interrupted."""
    marks = [("simulated", getattr(rec, "simulated", False)),
             ("clock unsynced", not getattr(rec, "clock_synced", True)),
             ("cut short", getattr(rec, "cut_short", False))]
    return ", ".join(name for name, on in marks if on)


def render_rows(records: Iterable[Any], paths: dict[str, str] | None = None) -> str:
    header = ("ID", "START", "LENGTH", "SIZE", "PEAK", "LABELS", "HELD", "NOTE")
    rows = [header]
    for r in records:
        rows.append((r.id, local(r.start_wall), f"{r.duration:.1f} s", human_size(r.size),
                     f"{r.peak_score:.1%}", ",".join(getattr(r, "labels", ())) or "-",
                     "yes" if r.held else "", notes(r)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    if paths:
        lines.append("")
        lines.extend(f"{cid}: {path}" for cid, path in paths.items())
    return "\n".join(lines)


def clip_table(store: Any, ids: list[str], events: int) -> str:
    """The end-of-simulation summary: the clips this run stored and where."""
    if not ids:
        return f"\n{events} motion event(s); no clips stored (store: {store.root})"
    records = [store.get(cid) for cid in ids if store.exists(cid)]
    paths = {r.id: str(store.clip_path(r.id)) for r in records}
    gone = len(ids) - len(records)
    note = f" ({gone} already removed by retention)" if gone else ""
    return (f"\n{events} motion event(s); {len(records)} clip(s) stored in "
            f"{store.root}{note}:\n" + render_rows(records, paths))
