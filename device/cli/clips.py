"""`doorcam clips list|show|export|delete` over the clip store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from device.cli.admin import device_config
from device.cli.table import iso, local, render_rows


def add_parser(sub: Any) -> None:
    p = sub.add_parser("clips", help="list, show, export or delete stored clips")
    csub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(q: argparse.ArgumentParser) -> None:
        q.add_argument("--store", metavar="DIR", help="clip store directory (default: store.path)")
        q.add_argument("--config", metavar="FILE", help="config file (TOML)")
        q.add_argument("--json", action="store_true", help="machine-readable output")

    q = csub.add_parser("list", help="clips, newest first")
    q.add_argument("--limit", type=int, default=None)
    common(q)
    q.set_defaults(run=_list)
    q = csub.add_parser("show", help="one clip: metadata, file, integrity and playability")
    q.add_argument("id")
    common(q)
    q.set_defaults(run=_show)
    q = csub.add_parser("export", help="copy a clip out of the store (verified by SHA-256)")
    q.add_argument("id")
    q.add_argument("dest", help="destination file or directory")
    q.add_argument("--force", action="store_true", help="overwrite an existing file")
    common(q)
    q.set_defaults(run=_export)
    q = csub.add_parser("delete", help="delete a clip and its thumbnail")
    q.add_argument("id")
    common(q)
    q.set_defaults(run=_delete)


def _store(args: argparse.Namespace) -> Any:
    from device.wiring import build
    return build.open_store(device_config(args.config, args.store))


def _with_iso(info: dict[str, Any]) -> dict[str, Any]:
    """Epoch seconds stay for scripts; each gets an ISO 8601 twin (`start_wall_iso`)."""
    for key in ("start_wall", "end_wall", "created"):
        if isinstance(info.get(key), int | float):
            info[f"{key}_iso"] = iso(info[key])
    return info


def _list(args: argparse.Namespace) -> int:
    store = _store(args)
    records = store.list(limit=args.limit)
    if args.json:
        print(json.dumps([_with_iso(r.to_json()) for r in records], indent=2))
    elif not records:
        print(f"no clips in {store.root}")
    else:
        print(render_rows(records))
        if any(r.simulated or not r.clock_synced for r in records):
            print("\nsimulated: from a synthetic scene or a video file; clock unsynced: "
                  "recorded before the system clock was set by network time. Neither is "
                  "offered to agency requests.")
        short = [r.id for r in records if r.cut_short]
        if short:
            print(f"\ncut short by a power cut or crash (saved up to the last second on "
                  f"disk): {', '.join(short)}")
        count, size = store.totals()
        print(f"\n{count} clip(s), {size / 1e6:.1f} MB in {store.root}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from capture.media.decode import probe_clip

    store = _store(args)
    rec = store.get(args.id)
    path = store.clip_path(rec.id)
    intact = store.verify(rec.id)
    probe = probe_clip(path) if intact else None
    info: dict[str, Any] = rec.to_json()
    info.update(path=str(path), thumbnail=str(store.thumbnail_path(rec.id)), sha256_ok=intact,
                decodes=probe is not None,
                decoded_frames=probe.frames if probe else None)
    if args.json:
        print(json.dumps(_with_iso(info), indent=2))
        return 0 if intact else 1
    for key, value in info.items():
        if key in ("start_wall", "end_wall") and isinstance(value, float):
            value = f"{local(value)} ({value:.3f})"
        elif key == "cut_short" and value:
            value = "yes: recording was interrupted (power cut or crash) and the clip ends "\
                "at the last fragment saved"
        elif key == "simulated" and value:
            value = "yes: from a synthetic scene or a video file, not the camera; never "\
                "offered to agency requests"
        elif key == "clock_synced" and not value:
            value = "no: recorded before network time set the clock, so its times may be "\
                "wrong; never offered to agency requests"
        print(f"{key:>14}: {value}")
    return 0 if intact else 1


def _export(args: argparse.Namespace) -> int:
    store = _store(args)
    dest = Path(args.dest)
    if dest.is_dir():
        dest = dest / f"{store.get(args.id).id}.mp4"
    out = store.export(args.id, dest, overwrite=args.force)
    if args.json:
        print(json.dumps({"id": args.id, "path": str(out)}))
    else:
        print(f"exported {args.id} to {out} (SHA-256 verified)")
    return 0


def _delete(args: argparse.Namespace) -> int:
    store = _store(args)
    store.delete(args.id)
    if args.json:
        print(json.dumps({"deleted": args.id}))
    else:
        print(f"deleted {args.id}")
    return 0
