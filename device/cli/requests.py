"""`doorcam requests list|show|accept|decline|upload|import`: the owner's side of consent."""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from common import read_at_most
from device.cli.admin import device_config
from device.cli.table import iso, local
from device.errors import EXIT_FAILURE, UserError

ID_HELP = "the request's id, as `requests list` shows it"


def add_parser(sub: Any) -> None:
    p = sub.add_parser("requests", help="agency requests: list, show, accept, decline")
    rsub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def cmd(name: str, text: str, run: Any) -> argparse.ArgumentParser:
        q = rsub.add_parser(name, help=text)
        q.add_argument("--store", metavar="DIR", help="store directory (default: store.path)")
        q.add_argument("--config", metavar="FILE", help="config file (TOML)")
        q.add_argument("--json", action="store_true", help="machine-readable output")
        q.set_defaults(run=run)
        return q

    cmd("list", "requests awaiting your decision (--all: every request)", _list).add_argument(
        "--all", action="store_true", help="every request received, decided and expired ones too")
    cmd("show", "one request: who asks, why, which of your clips", _show).add_argument(
        "id", help=ID_HELP)
    q = cmd("accept", "share matched clips with the requesting agency", _accept)
    q.add_argument("id", help=ID_HELP)
    q.add_argument("--clip", action="append", metavar="CLIP_ID",
                   help="share only this clip (repeat); default: every matched clip")
    cmd("decline", "share nothing; the agency is not told", _decline).add_argument(
        "id", help=ID_HELP)
    cmd("upload", "upload accepted evidence now (the daemon does this by itself)", _upload)
    cmd("import", "take a request from a file instead of MQTT (same checks)",
        _import).add_argument("file", help="a signed request (JSON)")


def _cfg(args: argparse.Namespace, *, read_only: bool = False) -> Any:
    cfg = device_config(args.config, args.store)
    if read_only:
        from device.store import require_store

        require_store(cfg.store.path)
    return cfg


def _row_json(row: Any, decision: Any) -> dict[str, Any]:
    out = _row(row, decision)
    for key in ("expires_at", "received_at", "issued_at"):
        if isinstance(out.get(key), int | float):
            out[f"{key}_iso"] = iso(out[key])
    if isinstance(out.get("window"), list):
        out["window_iso"] = [iso(t) for t in out["window"]]
    for c in out["clips"]:
        c["start_iso"], c["end_iso"] = iso(c["start"]), iso(c["end"])
    d = out["decision"]
    if d is not None:
        for key in ("decided_at", "completed_at"):
            if isinstance(d.get(key), int | float):
                d[f"{key}_iso"] = iso(d[key])
    return out


def _row(row: Any, decision: Any) -> dict[str, Any]:
    return {"request_id": row.request_id, "status": row.status, **row.public,
            "clips": [{"id": c.clip_id, "sha256": c.sha256, "start": c.start_wall,
                       "end": c.end_wall, "size": c.size} for c in row.clips],
            "decision": None if decision is None else {
                "verdict": decision.verdict, "clips": [c for c, _ in decision.clips],
                "destination": decision.destination, "channel": decision.channel,
                "decided_at": decision.decided_at, "uploaded": list(decision.uploaded),
                "completed_at": decision.completed_at, "failure": decision.failure}}


def _list(args: argparse.Namespace) -> int:
    from device.wiring.uplink import open_desk

    now = time.time()
    with open_desk(_cfg(args, read_only=True), now) as desk:
        rows = desk.all() if args.all else desk.pending(now)
        out = [_row_json(r, desk.decision(r.request_id)) for r in rows]
    if args.json:
        print(json.dumps(out, indent=2))
    elif not out:
        print("no requests awaiting a decision" if not args.all else "no requests received")
    else:
        for r in out:
            print(f"{r['request_id']}  {r['status']:<9} {r['agency']}, case {r['case']} "
                  f"({r['incident']}): {len(r['clips'])} matched clip(s), "
                  f"expires {local(r['expires_at'])}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from device.wiring.uplink import open_desk

    with open_desk(_cfg(args, read_only=True), time.time()) as desk:
        r = _row_json(desk.get(args.id), desk.decision(args.id))
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"request    {r['request_id']} ({r['status']})")
    print(f"agency     {r['agency']} [{r['agency_id']}], case {r['case']}: {r['incident']}")
    print(f"asks for   footage from {local(r['window'][0])} to {local(r['window'][1])}, "
          f"within {r['radius_m']} m of the incident")
    print(f"contact    {r['investigator']} ({r['contact']})")
    print(f"expires    {local(r['expires_at'])}; uploads would go to {r['upload_url']}")
    print("why        " + r["description"].replace("\n", "\n           "))
    print("terms      " + _terms_text(r.get("terms")).replace("\n", "\n           "))
    if r.get("outside_policy"):
        print(f"not shown  outside your limits: {r['outside_policy']}")
    for c in r["clips"]:
        print(f"  clip {c['id']}  {local(c['start'])} - {local(c['end'])[11:19]}  "
              f"{c['size']} bytes  sha256 {c['sha256'][:16]}…")
    if r["decision"]:
        d = r["decision"]
        print(f"decision   {d['verdict']} via {d['channel']}: {', '.join(d['clips']) or '-'}")
    else:
        print(f"share      sudo doorcam requests accept {r['request_id']} [--clip ID ...]")
        print(f"or refuse  sudo doorcam requests decline {r['request_id']}  (the agency is not "
              "told)")
    return 0


def _terms_text(terms: Any) -> str:
    """The agency's terms in words (they are part of its signed request)."""
    if not isinstance(terms, dict):
        return "none stated (nothing limits how long it keeps the footage or who sees it)"
    days = terms.get("retention_days")
    out = f"keeps the footage at most {days} day(s); " + (
        "shares it with no one else" if terms.get("no_onward_sharing")
        else "may share it onward")
    return out + (f"\n{terms['text']}" if terms.get("text") else "")


def _accept(args: argparse.Namespace) -> int:
    from device.wiring.uplink import open_desk
    from uplink.desk import Channel

    with open_desk(_cfg(args), time.time()) as desk:
        d = desk.accept(args.id, args.clip, time.time(), channel=Channel.CLI)
    print(json.dumps({"accepted": args.id, "clips": [c for c, _ in d.clips],
                      "destination": d.destination}) if args.json else
          f"accepted: {len(d.clips)} clip(s) of request {args.id} will be uploaded to "
          f"{d.destination} by the running daemon (or now with `doorcam requests upload`)")
    return 0


def _decline(args: argparse.Namespace) -> int:
    from device.wiring.uplink import open_desk
    from uplink.desk import Channel

    with open_desk(_cfg(args), time.time()) as desk:
        desk.decline(args.id, time.time(), channel=Channel.CLI)
    print(json.dumps({"declined": args.id}) if args.json else
          f"declined request {args.id}: nothing will be shared")
    return 0


def _upload(args: argparse.Namespace) -> int:
    from device.wiring.uplink import open_worker

    with open_worker(_cfg(args)) as worker:
        reports = worker.run_once()
    for r in reports:
        print(json.dumps(r.__dict__) if args.json else str(r))
    if not reports and not args.json:
        print("nothing to upload")
    return 0 if all(r.done for r in reports) else EXIT_FAILURE


def _import(args: argparse.Namespace) -> int:
    from device.wiring.uplink import open_desk
    from uplink.desk import Received
    from uplink.protocol.request import MAX_REQUEST_BYTES

    try:
        payload = read_at_most(args.file, MAX_REQUEST_BYTES)
    except OSError as exc:
        raise UserError(f"{args.file}: {exc.strerror or exc}") from None
    with open_desk(_cfg(args), time.time()) as desk:
        outcome = desk.receive(payload, time.time())
    if args.json:
        print(json.dumps(outcome.__dict__))
    elif outcome.kind == Received.REJECTED:
        raise UserError(f"{args.file}: request rejected: {outcome.reason}: {outcome.detail}",
                        EXIT_FAILURE)
    else:
        print(f"request {outcome}")
    return 0 if outcome.kind != Received.REJECTED else EXIT_FAILURE


