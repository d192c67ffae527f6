"""`doorcam owner keygen|device-key|pending|decide`: the owner deciding from another machine
over the home broker (docs/protocol.md, "Owner channel" and "Owner decisions").

`pending` reads the device's retained, sealed view with a clean session (so it sees the
current state, never a queue of old ones), checks the device's signature with the pinned
device key and each agency request's own signature against the owner's registry, and shows
only what verifies. `decide` binds the decision to the request body shown and seals it to the
device. The last audit head seen is kept in ~/.config/doorcam/anchors/<device>.json, with the
pinned device key, for `doorcam audit verify --anchor`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from device.cli.broker_options import add_broker_args, broker_config
from device.errors import EXIT_FAILURE, UserError

WAIT_S = 10.0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("owner", help="decide on a device's requests from elsewhere (MQTT)")
    o = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = o.add_parser("keygen", help="make an owner's signing and encryption keys")
    q.add_argument("--kid", required=True, help="key id, e.g. my-laptop")
    q.add_argument("--out", required=True, metavar="DIR")
    q.set_defaults(run=_keygen)
    q = o.add_parser("device-key", help="on the device: the key owners pin (--device-key)")
    q.add_argument("--config", metavar="FILE", help="config file (TOML)")
    q.add_argument("--store", metavar="DIR", help="store directory (default: store.path)")
    q.set_defaults(run=_device_key)
    for name, run, text in (("pending", _pending, "show what awaits your decision"),
                            ("decide", _decide, "accept or decline a request, signed")):
        q = o.add_parser(name, help=text)
        q.add_argument("--device", required=True, help="the device id")
        add_broker_args(q)
        q.add_argument("--topic-prefix", default="doorcam/v1")
        q.add_argument("--key", help="your owner signing key (KID.key from owner keygen)")
        q.add_argument("--enc-key", help="your encryption key (default: KID.x25519.key "
                       "beside --key)")
        q.add_argument("--kid", required=True, help="your key id, as enrolled")
        q.add_argument("--device-key", help="the device's public key (`doorcam owner "
                       "device-key` on the device); remembered after the first use")
        q.add_argument("--registry", metavar="FILE", help="the signed agency registry")
        q.add_argument("--registry-key", help="the key that signs the registry you trust")
        q.add_argument("--config", metavar="FILE",
                       help="a device config to take the registry file and key from")
        q.add_argument("--wait", type=_seconds, default=WAIT_S, metavar="SECONDS",
                       help=f"how long to wait for the device's view (default {WAIT_S:.0f})")
        q.set_defaults(run=run)
        if name == "pending":
            q.add_argument("--json", action="store_true", help="machine-readable output")
        else:
            q.add_argument("request_id")
            verdict = q.add_mutually_exclusive_group(required=True)
            verdict.add_argument("--accept", action="store_true")
            verdict.add_argument("--decline", action="store_true")
            q.add_argument("--clip", action="append", help="share only this clip (repeat)")


def _keygen(args: argparse.Namespace) -> int:
    from uplink.protocol import generate_keypair, public_key_to_text, save_private_key
    from uplink.protocol.envelope import generate_x25519, save_x25519_private, x25519_to_text
    from uplink.protocol.keys import KID_RE

    if not KID_RE.fullmatch(args.kid) or ":" in args.kid:
        raise UserError("--kid: 1-64 characters from A-Z a-z 0-9 . _ -")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sign, enc = out / f"{args.kid}.key", out / f"{args.kid}.x25519.key"
    if sign.exists() or enc.exists():
        raise UserError(f"{sign} or {enc} exists already; refusing to overwrite a key")
    private, public = generate_keypair()
    x = generate_x25519()
    save_private_key(private, sign)
    save_x25519_private(x, enc)
    print(f"wrote {sign} and {enc} (mode 0600). Add to the device's [uplink] owner_keys:")
    print(f'"{args.kid}:{public_key_to_text(public)}:{x25519_to_text(x.public_key())}"')
    return 0


def _device_key(args: argparse.Namespace) -> int:
    from device.cli.admin import device_config
    from device.wiring.paths import DevicePaths
    from uplink.protocol import load_private_key, public_key_to_text

    path = DevicePaths.of(device_config(args.config, args.store)).device_key
    if not path.exists():
        raise UserError(f"no device key at {path} yet: the daemon makes it when it first "
                        "starts with [uplink] enabled")
    try:
        key = load_private_key(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: {exc}") from None
    print(public_key_to_text(key.public_key()))
    return 0


# -- the pinned device key and the audit anchor ------------------------------------------------

def anchor_path(device: str) -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "doorcam" / "anchors" / f"{device}.json"


def _read_anchor(device: str) -> dict[str, Any]:
    path = anchor_path(device)
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: unreadable ({exc}); fix or remove it") from None
    return data if isinstance(data, dict) else {}


def _write_anchor(device: str, data: dict[str, Any]) -> None:
    from common import write_atomic

    path = anchor_path(device)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, indent=1).encode() + b"\n", 0o600)


# -- reading the device's view ---------------------------------------------------------------

@dataclasses.dataclass
class _Seen:
    view: dict[str, Any]
    head: dict[str, Any] | None
    link: Any
    base: str


def _keys(args: argparse.Namespace) -> tuple[Any, Any]:
    """(signing key or None, encryption key)."""
    from uplink.protocol import load_private_key
    from uplink.protocol.envelope import load_x25519_private

    sign = None
    if args.key:
        try:
            sign = load_private_key(Path(args.key))
        except (OSError, ValueError) as exc:
            raise UserError(f"{args.key}: not a usable private key ({exc})") from None
    enc_path = args.enc_key or (str(Path(args.key).with_name(Path(args.key).stem
                                                             + ".x25519.key"))
                                if args.key else None)
    if enc_path is None:
        raise UserError("give --key (and its KID.x25519.key beside it) or --enc-key")
    try:
        enc = load_x25519_private(Path(enc_path))
    except (OSError, ValueError) as exc:
        raise UserError(f"{enc_path}: not a usable encryption key ({exc})") from None
    return sign, enc


def _registry(args: argparse.Namespace, now: float) -> Any:
    from uplink.errors import RegistryError
    from uplink.protocol import public_key_from_text
    from uplink.protocol.registry import parse_registry

    file, key = args.registry, args.registry_key
    if args.config and not (file and key):
        from config import ConfigError, load_config
        from device.wiring.paths import DevicePaths

        try:
            cfg = load_config(args.config)
        except ConfigError as exc:
            raise UserError(f"{args.config}: {exc}") from None
        file = file or str(DevicePaths.of(cfg).registry)
        key = key or cfg.uplink.registry_key
    if not (file and key):
        raise UserError("give --registry FILE --registry-key KEY (or --config): every "
                        "request is checked against the registry you trust before it is shown")
    try:
        return parse_registry(Path(file).read_bytes(), public_key_from_text(key), now)
    except (OSError, ValueError, RegistryError) as exc:
        raise UserError(f"agency registry {file}: {exc}") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 600")
    return value


def _read(args: argparse.Namespace, enc: Any) -> _Seen:
    from config.owner_mqtt import OwnerMqttConfig
    from uplink.errors import UplinkError
    from uplink.mqtt import MqttLink
    from uplink.protocol import public_key_from_text
    from uplink.protocol.envelope import open_sealed
    from uplink.protocol.owner import HEAD_TYPE, VIEW_TYPE, verify_device_document

    anchor = _read_anchor(args.device)
    pinned = args.device_key or anchor.get("device_key")
    if not pinned:
        raise UserError(f"pin the device's key first: --device-key KEY (run `doorcam owner "
                        f"device-key` on {args.device})")
    if args.device_key and anchor.get("device_key") not in (None, args.device_key):
        raise UserError(f"--device-key differs from the key pinned in "
                        f"{anchor_path(args.device)}: remove that file to re-pin")
    try:
        device_key = public_key_from_text(pinned)
    except ValueError as exc:
        raise UserError(f"device key: {exc}") from None
    cfg = dataclasses.replace(broker_config(args), session_expiry_s=0, max_packet_kb=4096,
                              topic_prefix=args.topic_prefix)
    base = OwnerMqttConfig(topic_prefix=args.topic_prefix).effective_owner_topic(args.device)
    view_topic, head_topic = f"{base}/pending", f"{base}/audit"
    link = MqttLink(cfg, f"owner-{args.device}-{os.urandom(4).hex()}")
    link.subscribe([view_topic, head_topic])
    link.start()
    found: dict[str, dict[str, Any]] = {}
    problems: dict[str, str] = {}
    deadline = time.monotonic() + args.wait
    try:
        while time.monotonic() < deadline and not {view_topic, head_topic} <= set(found):
            msg = link.get(timeout=0.25)
            if msg is None:
                continue
            link.ack(msg)
            if msg.topic not in (view_topic, head_topic):
                continue
            kind = VIEW_TYPE if msg.topic == view_topic else HEAD_TYPE
            try:
                plain = open_sealed(msg.payload, args.kid, enc, device_id=args.device,
                                    topic=msg.topic)
                doc = verify_device_document(plain, device_key, kind=kind,
                                             device_id=args.device)
            except UplinkError as exc:
                problems[msg.topic] = str(exc)[:200]
                continue
            if msg.topic not in found or doc["at"] >= found[msg.topic]["at"]:
                found[msg.topic] = doc
    except BaseException:
        link.close()
        raise
    if view_topic not in found:
        link.close()
        if view_topic in problems:
            raise UserError(f"the view on {view_topic} is NOT a view signed by device "
                            f"{args.device}'s key and sealed to {args.kid}; not shown "
                            f"({problems[view_topic]})")
        raise UserError(f"no view of device {args.device!r} on {args.host}:{args.port} "
                        f"within {args.wait:g} s")
    head = found.get(head_topic)
    _check_anchor(args.device, anchor, pinned, found[view_topic], head, link)
    return _Seen(found[view_topic], head, link, base)


def _check_anchor(device: str, anchor: dict[str, Any], pinned: str, view: dict[str, Any],
                  head: dict[str, Any] | None, link: Any) -> None:
    """Refuse a view or head older than the head saved last time (a replayed retained
    message, or a log cut short); otherwise save the newer head."""
    seq = int(anchor.get("seq", 0))
    problem = None
    if int(view["audit_seq"]) < seq:
        problem = (f"the device's view is older than what you saw before (audit entry "
                   f"{view['audit_seq']} < {seq}): a replayed or rolled-back view (if the "
                   f"device was set up afresh, remove {anchor_path(device)})")
    elif head is not None and (int(head["seq"]) < seq or (
            int(head["seq"]) == seq and head["hash"] != anchor.get("hash"))):
        problem = (f"the device's audit head {head['seq']}:{str(head['hash'])[:12]}… does "
                   f"not extend the one you saw before ({seq}): its audit log was cut or "
                   f"rewritten")
    if problem:
        link.close()
        raise UserError(problem)
    data = {**anchor, "device_key": pinned}
    if head is not None:
        data.update(seq=int(head["seq"]), hash=str(head["hash"]), at=str(head["at"]))
    _write_anchor(device, data)


def _verified(view: dict[str, Any], registry: Any, now: float) -> tuple[list[Any], list[str]]:
    """(verified entries as (request, entry), refusals to report)."""
    from uplink.errors import UplinkError
    from uplink.protocol.owner import view_request

    good, bad = [], []
    for entry in view.get("pending", []):
        try:
            req, _ = view_request(entry, registry, now)
        except UplinkError as exc:
            bad.append(f"a pending request does not verify against your registry and is "
                       f"not shown: {str(exc)[:200]}")
            continue
        good.append((req, entry))
    return good, bad


def _pending(args: argparse.Namespace) -> int:
    now = time.time()
    registry = _registry(args, now)
    _, enc = _keys(args)
    seen = _read(args, enc)
    seen.link.close()
    good, bad = _verified(seen.view, registry, now)
    for line in bad:
        print(f"REFUSED: {line}")
    if args.json:
        print(json.dumps({"at": seen.view["at"], "head": seen.head and {
            "seq": seen.head["seq"], "hash": seen.head["hash"]},
            "pending": [{"request_id": r.request_id, "agency": r.agency_name,
                         "case": r.case_number, "incident": r.incident_type,
                         "terms": r.terms and r.terms.public(),
                         "request_sha256": e["request_sha256"], "clips": e["clips"]}
                        for r, e in good],
            "recent": seen.view.get("recent", []), "refused": len(bad)}))
        return EXIT_FAILURE if bad else 0
    print(f"device {args.device}, as of {seen.view['at']} (signed by the device, verified)")
    for r, e in good:
        print(f"{r.request_id}  {r.agency_name} ({r.agency_id}), case {r.case_number} "
              f"({r.incident_type}), signed by the agency: {len(e['clips'])} clip(s): "
              f"{', '.join(c['id'] for c in e['clips'])}")
        print(f"    {r.description.splitlines()[0][:160]}")
        print("    terms: " + ("none stated" if r.terms is None else
                            f"kept at most {r.terms.retention_days} day(s), "
                            + ("no onward sharing" if r.terms.no_onward_sharing
                               else "may be shared onward")
                            + (f"; {r.terms.text.splitlines()[0][:120]}" if r.terms.text
                               else "")))
    if not good:
        print("nothing awaits your decision")
    for item in seen.view.get("recent", [])[-5:]:
        print(f"  decided: {item['request_id']} {item['status']}")
    return EXIT_FAILURE if bad else 0


def _decide(args: argparse.Namespace) -> int:
    from uplink.protocol.envelope import seal, x25519_from_text
    from uplink.protocol.owner import owner_decision

    now = time.time()
    registry = _registry(args, now)
    key, enc = _keys(args)
    if key is None:
        raise UserError("--key: your owner signing key is needed to decide")
    seen = _read(args, enc)
    try:
        good, _ = _verified(seen.view, registry, now)
        match = [(r, e) for r, e in good if r.request_id == args.request_id]
        if not match:
            raise UserError(f"request {args.request_id} is not pending on {args.device} "
                            "(or does not verify against your registry)")
        req, entry = match[0]
        clips = {c["id"]: c["sha256"] for c in entry["clips"]}
        chosen = [] if args.decline else (args.clip or list(clips))
        unknown = [c for c in chosen if c not in clips]
        if unknown:
            raise UserError(f"not matched by this request: {', '.join(unknown)}")
        doc = owner_decision(key=key, kid=args.kid, device_id=args.device,
                             request_id=req.request_id, request_sha256=req.body_sha256,
                             verdict="decline" if args.decline else "accept",
                             clips=[(c, clips[c]) for c in chosen],
                             destination=req.upload_url, now=int(now))
        topic = f"{seen.base}/decisions"
        try:
            device_enc = x25519_from_text(str(seen.view["enc_key"]))
        except ValueError as exc:
            raise UserError(f"the device's encryption key in its view: {exc}") from None
        sealed = seal(json.dumps(doc).encode(), {str(seen.view["kid"]): device_enc},
                      device_id=args.device, topic=topic)
        seen.link.publish(topic, sealed, qos=1)
        if not seen.link.wait_published(max(args.wait, WAIT_S)):
            raise UserError("the broker did not acknowledge the decision")
    finally:
        seen.link.close()
    what = "declined" if args.decline else f"accepted {len(chosen)} clip(s) of"
    print(f"{what} request {args.request_id} ({req.agency_name}, case {req.case_number}); "
          f"signed as {args.kid}, sealed to the device")
    return 0
