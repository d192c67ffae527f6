"""`doorcam audit verify|show`: the hash-chained log of every request and decision."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from common import read_at_most
from device.cli.admin import device_config
from device.errors import EXIT_FAILURE, UserError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("audit", help="show or verify the audit log of requests and decisions")
    asub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, run, text in (("show", _show, "print the log readably"),
                            ("verify", _verify, "detect changed, removed or reordered entries")):
        q = asub.add_parser(name, help=text)
        q.add_argument("--store", metavar="DIR", help="store directory (default: store.path)")
        q.add_argument("--config", metavar="FILE", help="config file (TOML)")
        q.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "verify":
            q.add_argument("--anchor", metavar="FILE|SEQ:HASH",
                           help="a head recorded off the device earlier (SEQ:HASH, or the "
                           "owner's anchor file from `doorcam owner pending`), to detect a "
                           "cut tail or a rewrite")
        q.set_defaults(run=run)


def _log(args: argparse.Namespace) -> Any:
    from device.wiring.paths import DevicePaths
    from uplink.audit import AuditLog

    cfg = device_config(args.config, args.store)
    path = DevicePaths.of(cfg).audit
    if not path.exists():
        raise UserError(f"no audit log at {path}: check --store (or store.path in the "
                        "config); the daemon makes it when the first request arrives")
    return AuditLog(path)


def _show(args: argparse.Namespace) -> int:
    from device.cli.table import iso, local
    from uplink.audit import format_entry

    with _log(args) as log:
        for entry in log.entries():
            if args.json:
                print(json.dumps({"seq": entry.seq, "at": entry.at, "at_iso": iso(entry.at),
                                  "kind": entry.kind,
                                  "request_id": entry.request_id,
                                  "detail": json.loads(entry.detail), "hash": entry.hash}))
            else:
                # format_entry prints UTC: the owner reads the device's local time.
                stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(entry.at))
                print(format_entry(entry).replace(stamp, local(entry.at), 1))
    return 0


def _verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from uplink.audit import parse_anchor

    anchor = None
    if args.anchor:
        text = args.anchor
        if ":" not in text or Path(text).is_file():
            try:
                text = read_at_most(text, 4096).decode("utf-8", errors="replace")
            except OSError as exc:
                raise UserError(f"--anchor {args.anchor}: {exc.strerror or exc}") from None
        try:
            anchor = parse_anchor(text)
        except ValueError as exc:
            raise UserError(f"--anchor: {exc}") from None
    with _log(args) as log:
        report = log.verify(anchor=anchor)
        head = log.head()
    if args.json:
        print(json.dumps({"ok": report.ok, "entries": report.entries,
                          "head": f"{head[0]}:{head[1]}",
                          "problems": [p.__dict__ for p in report.problems]}))
    elif report.ok:
        print(f"audit log intact: {report.entries} entries; head {head[0]}:{head[1]}")
    else:
        for p in report.problems:
            print(f"entry #{p.seq}: {p.what}: {p.detail}")
        print(f"audit log BROKEN at entry #{report.first_bad_seq}")
    return 0 if report.ok else EXIT_FAILURE
