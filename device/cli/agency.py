"""`doorcam agency …`: the agency side, for tests, the demo and agencies trying doorcam."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from common import read_at_most
from device.cli.broker_options import add_broker_args, broker_config, port
from device.errors import EXIT_FAILURE, UserError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("agency", help="agency tools: keys, registry, requests, receiver")
    a = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = a.add_parser("keygen", help="make an Ed25519 key pair (registry, agency or owner)")
    q.add_argument("--kid", required=True, help="key id, e.g. pd-1-2026")
    q.add_argument("--out", required=True, metavar="DIR",
                   help="folder for KID.key (private, 0600) and KID.pub.json")
    q.set_defaults(run=_keygen)
    q = a.add_parser("registry", help="sign a registry of agencies (JSON list, see docs)")
    q.add_argument("--key", required=True, help="registry private key (.key)")
    q.add_argument("--kid", required=True, help="the registry key's id, as devices see it")
    q.add_argument("--agencies", required=True, metavar="FILE.json",
                   help="the agencies: a JSON list as docs/protocol.md shows them")
    q.add_argument("--version", type=int, required=True,
                   help="higher than any registry signed before (devices refuse an older one)")
    q.add_argument("--out", required=True, metavar="FILE", help="the signed registry to write")
    q.add_argument("--expires-days", type=int, default=365,
                   help="the registry expires this many days after issue (devices warn "
                        "before, and refuse it after); 0 = never")
    q.add_argument("--revoke", action="append", default=[], metavar="KID",
                   help="mark this agency key revoked (repeatable)")
    q.add_argument("--not-before", action="append", default=[], metavar="KID=WHEN",
                   help="this key is valid from WHEN (UTC, or now-1d); repeatable")
    q.add_argument("--not-after", action="append", default=[], metavar="KID=WHEN",
                   help="this key is valid until WHEN (UTC, or now+30d); repeatable")
    q.set_defaults(run=_registry)
    q = a.add_parser("request", help="compose and sign a request for assistance")
    for name, text in (
            ("key", "the agency's private key (.key)"),
            ("kid", "the key's id, as the registry lists it"),
            ("agency-id", "the agency's id in the registry"),
            ("agency-name", "the agency's name, exactly as the registry has it"),
            ("case", "case number"),
            ("type", "incident type, e.g. 'package theft'"),
            ("description", "what happened and what you look for, shown to owners"),
            ("investigator", "the investigator's name"),
            ("contact", "how owners reach the investigator"),
            ("upload-url", "the tus endpoint devices upload to (a host the registry lists)"),
            ("out", "the signed request to write")):
        q.add_argument(f"--{name}", required=True, help=text)
    for name, text in (("lat", "the incident's latitude"), ("lon", "its longitude")):
        q.add_argument(f"--{name}", type=float, required=True, help=text)
    q.add_argument("--radius-m", type=int, required=True,
                   help="the area asked about, metres around lat/lon")
    q.add_argument("--start", required=True, help="UTC, 2026-11-28T13:00:00Z or now-2h")
    q.add_argument("--end", required=True, help="UTC, or now / now-10m")
    q.add_argument("--expires-days", type=int, default=7,
                   help="devices drop the request this many days after issue (default 7)")
    q.add_argument("--retention-days", type=int, metavar="DAYS",
                   help="terms: the agency keeps the footage at most this long")
    q.add_argument("--no-onward-sharing", action="store_true",
                   help="terms: the agency passes the footage to no one else")
    q.add_argument("--terms-text", metavar="TEXT", help="terms in words (up to 1000 characters)")
    q.set_defaults(run=_request)
    q = a.add_parser("publish", help="publish a signed request to every area cell it covers")
    q.add_argument("file", help="a request signed by `doorcam agency request`")
    add_broker_args(q)
    q.add_argument("--topic-prefix", default="doorcam/v1",
                   help="the devices' [mqtt] topic_prefix (requests go to PREFIX/requests/CELL)")
    q.set_defaults(run=_publish)
    q = a.add_parser("receive", help="run the reference tus receiver; verifies evidence")
    q.add_argument("--dir", required=True,
                   help="where evidence is filed (DIR/REQUEST_ID/)")
    q.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1)")
    q.add_argument("--port", type=port, default=8080, help="port to listen on (default 8080)")
    q.add_argument("--key", help="the agency's private key (.key): signs a receipt of what "
                   "arrived for each request (GET .../receipt/REQUEST_ID)")
    q.add_argument("--kid", help="the key's id as the registry lists it (default: the key "
                   "file's name without .key)")
    q.set_defaults(run=_receive)
    q = a.add_parser("verify", help="verify a received request folder (or one MP4's video "
                                    "signatures) offline")
    q.add_argument("folder", help="a request folder, or an .mp4 file")
    q.add_argument("--device-key", default="",
                   help="for an .mp4: the device's public key (a manifest's device_key) the "
                        "video signing certificate must come from")
    q.add_argument("--strict", action="store_true",
                   help="for an .mp4: also refuse what ONVIF's reference validator refuses "
                        "though the frames are intact")
    q.set_defaults(run=_verify)


def parse_when(text: str, now: int) -> int:
    """`2026-11-28T13:00:00Z`, `now`, or `now-90m` / `now-2h` / `now+30d`."""
    from uplink.protocol.fields import parse_time

    m = re.fullmatch(r"now(?:([-+])(\d+)([smhd]))?", text)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        n, unit = int(m.group(2) or 0), m.group(3) or "s"
        when = now + sign * n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
        if not 0 <= when <= LAST_TIME:
            raise UserError(f"{text!r}: outside 1970..9999")
        return when
    try:
        return parse_time(text)
    except ValueError:
        raise UserError(f"{text!r}: use YYYY-MM-DDTHH:MM:SSZ or now-30m") from None


def _load_key(path: str) -> Any:
    from uplink.protocol import load_private_key

    try:
        return load_private_key(Path(path))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a usable private key ({exc})") from None


def _keygen(args: argparse.Namespace) -> int:
    from uplink.protocol import (
        generate_keypair,
        public_key_to_text,
        save_private_key,
        save_public_key,
    )
    from uplink.protocol.keys import KID_RE

    if not KID_RE.fullmatch(args.kid):
        raise UserError("--kid: 1-64 characters from A-Z a-z 0-9 . _ -")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key, pub = out / f"{args.kid}.key", out / f"{args.kid}.pub.json"
    if key.exists() or pub.exists():
        # A signing key in use (a registry's, an agency's) cannot be made again.
        raise UserError(f"{key} or {pub} exists already; refusing to overwrite a key")
    private, public = generate_keypair()
    save_private_key(private, key)
    save_public_key(public, args.kid, pub)
    print(public_key_to_text(public))
    return 0


LAST_TIME = 253402300799  # 9999-12-31T23:59:59Z, the last time the protocol can write
MAX_REGISTRY_DAYS = 36500  # a hundred years; more is past what a time can be written as
_AGENCIES_FORMAT = (
    'a JSON list of agencies (or a registry with "agencies"), each as docs/protocol.md shows '
    'it: id, name, keys [{"kid", "public_key", "valid_from", "valid_until", "revoked"}], '
    'jurisdiction {"lat", "lon", "radius_m"} or {"geohash_prefixes"}, upload_hosts; or the '
    'short form with keys ["KID:KEY"] and lat, lon, radius_m')


def _agency_document(entry: Any, now: int) -> dict[str, Any]:
    """One registry entry in the documented form; the short form is expanded."""
    from uplink.agency import AgencySpec
    from uplink.protocol.fields import format_time

    if not isinstance(entry, dict):
        raise TypeError(f"an agency must be a JSON object, not {type(entry).__name__}")
    keys = entry.get("keys")
    if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
        spec = AgencySpec(entry["id"], entry["name"], [tuple(k.split(":", 1)) for k in keys],
                          entry["upload_hosts"], float(entry["lat"]), float(entry["lon"]),
                          int(entry["radius_m"]))
        return spec.document(now)
    out = dict(entry)
    if isinstance(keys, list):
        start, until = format_time(now - 86400), format_time(now + 365 * 86400)
        out["keys"] = [{"valid_from": start, "valid_until": until, "revoked": False, **k}
                       if isinstance(k, dict) else k for k in keys]
    return out


def _registry(args: argparse.Namespace) -> int:
    from uplink.errors import RegistryError
    from uplink.protocol import sign_document
    from uplink.protocol.canonical import MAX_SAFE_INT
    from uplink.protocol.fields import format_time
    from uplink.protocol.registry import MAX_REGISTRY_BYTES, parse_registry

    now = int(time.time())
    try:
        raw = read_at_most(args.agencies, MAX_REGISTRY_BYTES)
        if len(raw) > MAX_REGISTRY_BYTES:
            raise UserError(f"{args.agencies}: larger than a registry may be "
                            f"({MAX_REGISTRY_BYTES // 1024 // 1024} MiB)")
        data = json.loads(raw)
    except OSError as exc:
        raise UserError(f"{args.agencies}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UserError(f"{args.agencies}: not JSON ({exc})") from None
    entries = data.get("agencies") if isinstance(data, dict) else data
    try:
        if not isinstance(entries, list):
            raise TypeError("not a list of agencies")
        agencies = [_agency_document(e, now) for e in entries]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        why = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        raise UserError(f"{args.agencies}: {why}; expected {_AGENCIES_FORMAT}") from None
    if not 1 <= args.version <= MAX_SAFE_INT:
        raise UserError(f"--version must be 1 to {MAX_SAFE_INT}, not {args.version}")
    if not 0 <= args.expires_days <= MAX_REGISTRY_DAYS:
        raise UserError(f"--expires-days must be 0 (never) to {MAX_REGISTRY_DAYS}, not "
                        f"{args.expires_days}")
    _key_options(agencies, args, now)
    key = _load_key(args.key)
    body: dict[str, Any] = {"type": "registry", "protocol": 1, "version": args.version,
                            "issued_at": format_time(now), "agencies": agencies}
    if args.expires_days:
        body["expires_at"] = format_time(now + args.expires_days * 86400)
    doc = sign_document(body, key, args.kid)
    try:  # what devices will check: refuse to write a registry they would refuse
        parse_registry(json.dumps(doc).encode(), key.public_key(), now)
    except RegistryError as exc:
        raise UserError(f"{args.agencies}: {exc}; expected {_AGENCIES_FORMAT}") from None
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"signed registry v{args.version} with {len(agencies)} agency(ies): {args.out}")
    return 0


def _key_options(agencies: list[dict[str, Any]], args: argparse.Namespace, now: int) -> None:
    """Apply --revoke, --not-before and --not-after to the keys they name."""
    from uplink.protocol.fields import format_time

    keys = {k["kid"]: k for a in agencies for k in a.get("keys", [])
            if isinstance(k, dict) and isinstance(k.get("kid"), str)}
    changes: list[tuple[str, str, object]] = [(kid, "revoked", True) for kid in args.revoke]
    for option, field in (("not_before", "valid_from"), ("not_after", "valid_until")):
        for item in getattr(args, option):
            kid, sep, when = item.partition("=")
            if not sep:
                raise UserError(f"--{option.replace('_', '-')} {item!r}: use KID=WHEN")
            changes.append((kid, field, format_time(parse_when(when, now))))
    for kid, field, value in changes:
        if kid not in keys:
            raise UserError(f"no agency key {kid!r} in {args.agencies} "
                            f"(keys: {', '.join(sorted(keys)) or 'none'})")
        keys[kid][field] = value


def _request(args: argparse.Namespace) -> int:
    from uplink.agency import compose_request
    from uplink.errors import RequestRejected
    from uplink.protocol.request import MAX_EXPIRY_S

    if not 1 <= args.expires_days <= MAX_EXPIRY_S // 86400:
        raise UserError(f"--expires-days must be 1 to {MAX_EXPIRY_S // 86400} (devices refuse "
                        f"a request that lasts longer), not {args.expires_days}")

    now = int(time.time())
    try:
        doc = compose_request(terms=_terms(args),
            key=_load_key(args.key), kid=args.kid, agency_id=args.agency_id,
            agency_name=args.agency_name, case_number=args.case, incident_type=args.type,
            description=args.description, investigator=args.investigator,
            contact=args.contact, lat=args.lat, lon=args.lon, radius_m=args.radius_m,
            start=parse_when(args.start, now), end=parse_when(args.end, now),
            upload_url=args.upload_url, now=now, expires_in=args.expires_days * 86400)
    except RequestRejected as exc:
        raise UserError(f"devices would refuse this request: {exc}") from None
    Path(args.out).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                              encoding="utf-8")
    print(f"request {doc['request_id']} written to {args.out}")
    return 0


def _terms(args: argparse.Namespace) -> Any:
    from uplink.protocol.request import RequestTerms

    if args.retention_days is None:
        if args.no_onward_sharing or args.terms_text:
            raise UserError("terms need --retention-days (how long the footage is kept)")
        return None
    return RequestTerms(args.retention_days, args.no_onward_sharing, args.terms_text or "")


def _publish(args: argparse.Namespace) -> int:
    from config.mqtt import topic_prefix_problem
    from uplink.mqtt import MqttLink
    from uplink.protocol.geo import cells_covering, topic
    from uplink.protocol.request import MAX_REQUEST_BYTES, parse_request

    try:
        payload = read_at_most(args.file, MAX_REQUEST_BYTES)
        req = parse_request(payload)
    except OSError as exc:
        raise UserError(f"{args.file}: {exc.strerror}") from None
    problem = topic_prefix_problem(args.topic_prefix)
    if problem:
        raise UserError(f"--topic-prefix {args.topic_prefix!r}: must be {problem}")
    cfg = dataclasses.replace(broker_config(args), topic_prefix=args.topic_prefix)
    try:
        # Devices subscribe to their own cell only: every cell the circle touches gets a copy.
        cells = cells_covering(req.lat, req.lon, req.radius_m)
    except ValueError as exc:
        raise UserError(f"{args.file}: cannot publish this request's circle: {exc}") from None
    topics = [topic(c, cfg.requests_topic_base()) for c in cells]
    link = MqttLink(cfg, f"agency-{req.agency_id}", settings="--host and --port")
    link.start()
    try:
        deadline = time.monotonic() + 10
        while not link.connected:
            if time.monotonic() > deadline:
                raise UserError(f"broker {args.host}:{args.port} unreachable")
            time.sleep(0.05)
        for t in topics:
            link.publish(t, payload, qos=1)
        if not link.wait_published(10):
            raise UserError("the broker did not acknowledge the request within 10 s")
    finally:
        link.close()
    print(f"published request {req.request_id} to {len(topics)} topic(s): {', '.join(topics)}")
    return 0


def _receive(args: argparse.Namespace) -> int:
    import logging

    from uplink.agency import EvidenceInbox
    from uplink.agency.receiver import TusReceiver

    logging.basicConfig(level="INFO", format="%(asctime)s %(message)s", stream=sys.stderr)
    inbox = EvidenceInbox(Path(args.dir))
    key = _load_key(args.key) if args.key else None
    kid = args.kid or (Path(args.key).name.removesuffix(".key") if args.key else "")
    rx = TusReceiver(Path(args.dir) / ".uploads", args.host, args.port,
                     on_complete=inbox.on_complete, receipt_key=key, receipt_kid=kid).start()
    print(f"receiving tus uploads at {rx.url}; evidence in {args.dir}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    rx.stop()
    return 0


def _verify(args: argparse.Namespace) -> int:
    from uplink.agency import EvidenceInbox
    from uplink.protocol.media import NOT_SIGNED

    folder = Path(args.folder)
    if folder.suffix == ".mp4" and folder.is_file():
        return _verify_video(folder, args.device_key, args.strict)
    report = EvidenceInbox(folder.parent).verify(folder)
    for cid, media in sorted(report.media.items()):
        unsigned = media.problems == (NOT_SIGNED,)
        print(f"clip {cid}: video " + ("not signed at capture: only the manifest vouches for it"
                                       if unsigned else "signed" if media.signed
                                       else "unreadable"))
        for line in [] if unsigned else media.lines():
            print(f"  {line}")
        if cid in report.credentials:
            print(f"  {report.credentials[cid].line()}")
    for line in report.clock_lines():
        print(line)
    if report.ok:
        print(f"ok: {len(report.verified_clips)} clip(s) match the signed manifest")
        return 0
    for problem in report.problems:
        print(problem)
    return EXIT_FAILURE


def _verify_video(path: Path, device_key: str, strict: bool) -> int:
    from uplink.protocol import public_key_from_text
    from uplink.protocol.credentials import CredentialsState, read_credentials
    from uplink.protocol.media import NOT_SIGNED, verify_media

    try:
        key = public_key_from_text(device_key) if device_key else None
    except ValueError as e:
        print(f"--device-key: {e}")
        return EXIT_FAILURE
    report = verify_media(path, key, strict=strict)
    credentials = read_credentials(path)
    if report.problems == (NOT_SIGNED,):
        # Not tampering: the device recorded it with recording.sign off (or without its key).
        print("not signed at capture: the video carries no signatures, so its frames cannot "
              "be checked; check it against its request's signed manifest (doorcam agency "
              "verify FOLDER)")
        return EXIT_FAILURE
    for line in report.lines():
        print(line)
    print(credentials.line())
    if credentials.state is CredentialsState.INVALID:
        print("NOT VALID")
        return EXIT_FAILURE
    if report.ok:
        bound = "issued by the given device key" if report.key_bound else "key not checked"
        print(f"ok: every signed GOP is intact and in order ({bound})")
        return 0
    print("NOT VALID")
    return EXIT_FAILURE
