"""`doorcam owner pending|decide`: the owner deciding from another machine over MQTT.

Reads the device's retained summary of pending requests and publishes a decision signed
with the owner's key (docs/protocol.md, "Owner decisions"). The device honours it only if
the key was enrolled in its `uplink.owner_keys`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from device.cli.broker_options import add_broker_args, broker_config
from device.errors import UserError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("owner", help="decide on a device's requests from elsewhere (MQTT)")
    o = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, run, text in (("pending", _pending, "show what awaits your decision"),
                            ("decide", _decide, "accept or decline a request, signed")):
        q = o.add_parser(name, help=text)
        q.add_argument("--device", required=True, help="the device id")
        add_broker_args(q)
        q.set_defaults(run=run)
        if name == "decide":
            q.add_argument("request_id")
            q.add_argument("--key", required=True, help="your owner private key (.key)")
            q.add_argument("--kid", required=True, help="its key id, as enrolled")
            verdict = q.add_mutually_exclusive_group(required=True)
            verdict.add_argument("--accept", action="store_true")
            verdict.add_argument("--decline", action="store_true")
            q.add_argument("--clip", action="append", help="share only this clip (repeat)")


def _link(args: argparse.Namespace) -> tuple[Any, Any]:
    from uplink.mqtt import MqttLink

    cfg = broker_config(args)
    link = MqttLink(cfg, f"owner-{args.device}")
    link.start()
    return link, cfg.effective_owner_topic(args.device)


def _summary(args: argparse.Namespace) -> tuple[Any, str, dict[str, Any]]:
    link, base = _link(args)
    link.subscribe([f"{base}/pending"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        msg = link.get(timeout=0.5)
        if msg is not None:
            link.ack(msg)
            if msg.topic == f"{base}/pending":
                return link, base, json.loads(msg.payload)
    link.close()
    raise UserError(f"no pending-requests summary from device {args.device!r} on "
                    f"{args.host}:{args.port} within 10 s")


def _pending(args: argparse.Namespace) -> int:
    link, _, summary = _summary(args)
    link.close()
    for r in summary["pending"]:
        print(f"{r['request_id']}  {r['agency']}, case {r['case']} ({r['incident']}): "
              f"{len(r['clips'])} clip(s): {', '.join(c['id'] for c in r['clips'])}")
    if not summary["pending"]:
        print("nothing awaits your decision")
    return 0


def _decide(args: argparse.Namespace) -> int:
    from uplink.agency import owner_decision
    from uplink.protocol import load_private_key

    try:
        key = load_private_key(Path(args.key))
    except (OSError, ValueError) as exc:
        raise UserError(f"{args.key}: not a usable private key ({exc})") from None
    link, base, summary = _summary(args)
    try:
        request = next((r for r in summary["pending"] if r["request_id"] == args.request_id),
                       None)
        if request is None:
            raise UserError(f"request {args.request_id} is not pending on {args.device}")
        clips = {c["id"]: c["sha256"] for c in request["clips"]}
        chosen = [] if args.decline else (args.clip or list(clips))
        unknown = [c for c in chosen if c not in clips]
        if unknown:
            raise UserError(f"not matched by this request: {', '.join(unknown)}")
        doc = owner_decision(key=key, kid=args.kid, device_id=args.device,
                             request_id=args.request_id,
                             verdict="decline" if args.decline else "accept",
                             clips=[(c, clips[c]) for c in chosen],
                             destination=request["upload_url"], now=int(time.time()))
        link.publish(f"{base}/decisions", json.dumps(doc).encode(), qos=1)
        if not link.wait_published(10):
            raise UserError("the broker did not acknowledge the decision")
    finally:
        link.close()
    what = "declined" if args.decline else f"accepted {len(chosen)} clip(s) of"
    print(f"{what} request {args.request_id}; signed as {args.kid}")
    return 0
