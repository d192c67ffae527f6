"""`doorcam owner keygen|device-key|pending|decide`: the owner deciding from another machine
over the home broker (docs/protocol.md, "Owner channel" and "Owner decisions").

`pending` reads the device's retained, sealed view with a clean session (so it sees the
current state, never a queue of old ones), checks the device's signature with the pinned
device key and each agency request's own signature against the owner's registry, and shows
only what verifies; a view older than the device's audit head read with it (an old view
re-published) is refused. `decide` binds the decision to the request body shown and seals it
to the device. The last audit head seen is kept in ~/.config/doorcam/anchors/<device>.json,
with the pinned device key, for `doorcam audit verify --anchor`. The protocol's owner side is
`uplink.owner`; this module parses arguments and prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from device.cli.broker_options import add_broker_args, broker_config
from device.errors import EXIT_FAILURE, UserError

if TYPE_CHECKING:
    from uplink.mqtt import MqttLink
    from uplink.owner import DeviceView
    from uplink.protocol.owner import OwnerTopics
    from uplink.protocol.registry import Registry

WAIT_S = 10.0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("owner", help="decide on a device's requests from elsewhere (MQTT)")
    o = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = o.add_parser("keygen", help="make an owner's signing and encryption keys")
    q.add_argument("--kid", required=True, help="key id, e.g. my-laptop")
    q.add_argument("--out", required=True, metavar="DIR",
                   help="folder for KID.key and KID.x25519.key (0600)")
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
        q.add_argument("--topic-prefix", default="doorcam/v1",
                       help="the device's [owner_mqtt] topic_prefix (default doorcam/v1)")
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
            q.add_argument("request_id", help="as `owner pending` shows it")
            verdict = q.add_mutually_exclusive_group(required=True)
            verdict.add_argument("--accept", action="store_true",
                                 help="share the matched clips (or those named by --clip)")
            verdict.add_argument("--decline", action="store_true",
                                 help="share nothing; the agency is not told")
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


def _registry(args: argparse.Namespace, now: float) -> Registry:
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


@contextmanager
def _session(args: argparse.Namespace, enc: Any) -> Iterator[tuple[DeviceView, OwnerTopics,
                                                                    MqttLink]]:
    """The device's current view, checked (`uplink.owner.current_view`), and the link it
    came on, closed on exit."""
    from config.owner_mqtt import OwnerMqttConfig
    from uplink.mqtt import MqttLink
    from uplink.owner import Anchor, Reader, ViewProblem, ViewRefused, current_view
    from uplink.protocol import public_key_from_text
    from uplink.protocol.owner import OwnerTopics

    path = anchor_path(args.device)
    try:
        anchor = Anchor.load(path)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    pinned = args.device_key or anchor.device_key
    if not pinned:
        raise UserError(f"pin the device's key first: --device-key KEY (run `doorcam owner "
                        f"device-key` on {args.device})")
    if args.device_key and anchor.device_key not in (None, args.device_key):
        raise UserError(f"--device-key differs from the key pinned in {path}: remove that "
                        "file to re-pin")
    try:
        device_key = public_key_from_text(pinned)
    except ValueError as exc:
        raise UserError(f"device key: {exc}") from None
    cfg = dataclasses.replace(broker_config(args), session_expiry_s=0, max_packet_kb=4096,
                              topic_prefix=args.topic_prefix)
    topics = OwnerTopics.under(
        OwnerMqttConfig(topic_prefix=args.topic_prefix).effective_owner_topic(args.device))
    reader = Reader(args.device, device_key, args.kid, enc, topics)
    link = MqttLink(cfg, f"owner-{args.device}-{os.urandom(4).hex()}",
                    settings="--host and --port")
    link.subscribe([topics.view, topics.head])
    with link:
        try:
            seen = current_view(link, reader, dataclasses.replace(anchor, device_key=pinned),
                                args.wait, lambda a: a.save(path))
        except ViewRefused as exc:
            if exc.problem == ViewProblem.NONE_SEEN:
                raise UserError(f"no view of device {args.device!r} on {args.host}:"
                                f"{args.port} within {args.wait:g} s") from None
            hint = (f" (if the device was set up afresh, remove {path})"
                    if exc.problem == ViewProblem.ROLLED_BACK else "")
            raise UserError(f"{exc.detail}{hint}") from None
        yield seen, topics, link


def _pending(args: argparse.Namespace) -> int:
    from uplink.owner import verified

    now = time.time()
    registry = _registry(args, now)
    _, enc = _keys(args)
    with _session(args, enc) as (seen, _, _):
        good, bad = verified(seen.view, registry, now)
    for line in bad:
        print(f"REFUSED: {line}")
    if args.json:
        print(json.dumps({"at": seen.view["at"], "head": seen.head and {
            "seq": seen.head["seq"], "hash": seen.head["hash"]},
            "pending": [{"request_id": p.request.request_id, "agency": p.request.agency_name,
                         "case": p.request.case_number, "incident": p.request.incident_type,
                         "terms": p.request.terms and p.request.terms.public(),
                         "request_sha256": p.entry["request_sha256"],
                         "clips": p.entry["clips"]}
                        for p in good],
            "recent": seen.view.get("recent", []), "refused": len(bad)}))
        return EXIT_FAILURE if bad else 0
    print(f"device {args.device}, as of {seen.view['at']} (signed by the device, verified)")
    for p in good:
        r = p.request
        print(f"{r.request_id}  {r.agency_name} ({r.agency_id}), case {r.case_number} "
              f"({r.incident_type}), signed by the agency: {len(p.clips)} clip(s): "
              f"{', '.join(c for c, _ in p.clips)}")
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
    from uplink.owner import CannotDecide, decide

    now = time.time()
    registry = _registry(args, now)
    key, enc = _keys(args)
    if key is None:
        raise UserError("--key: your owner signing key is needed to decide")
    with _session(args, enc) as (seen, topics, link):
        try:
            made = decide(seen.view, registry, now, request_id=args.request_id,
                          accept=not args.decline, clip_ids=args.clip, key=key, kid=args.kid,
                          device_id=args.device, topic=topics.decisions)
        except CannotDecide as exc:
            raise UserError(str(exc)) from None
        link.publish(topics.decisions, made.payload, qos=1)
        if not link.wait_published(max(args.wait, WAIT_S)):
            raise UserError("the broker did not acknowledge the decision")
    req = made.request
    what = "declined" if args.decline else f"accepted {len(made.clips)} clip(s) of"
    print(f"{what} request {args.request_id} ({req.agency_name}, case {req.case_number}); "
          f"signed as {args.kid}, sealed to the device")
    return 0
