"""`doorcam ca issue|show`: the device's own certificate authority and the web app's
certificate it issues (the web app itself never opens the CA's key)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from config import Config
from device.access import become_store_owner, config_path, load_owner_config
from device.errors import UserError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("ca", help="the device's certificate authority, which phones install "
                                  "to trust the web app")
    a = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = a.add_parser("issue", help="make the CA unless there is one, and issue the web app's "
                                   "certificate unless the current one is still good")
    q.add_argument("--new-ca", action="store_true",
                   help="make a new CA (after the device's LAN address changed for good); "
                        "phones must install the new one")
    q.add_argument("--config", metavar="FILE", help="config file (TOML)")
    q.set_defaults(run=_issue)
    q = a.add_parser("name", help="the device's name on the LAN (doorcam-xxxxxxxx.local), "
                                  "which the CA vouches for and mDNS announces")
    q.add_argument("--host", action="store_true",
                   help="print the host name to set (without .local)")
    q.add_argument("--config", metavar="FILE", help="config file (TOML)")
    q.set_defaults(run=_name)
    q = a.add_parser("show", help="the CA's fingerprint and the names it is limited to")
    q.add_argument("--config", metavar="FILE", help="config file (TOML)")
    q.set_defaults(run=_show)


def _key_mode(web_dir: Path) -> int:
    """0640 when the web app's directory belongs to another user (the web app's own
    service user, in the store's group): it must read the key it serves with."""
    try:
        owner = web_dir.stat().st_uid
    except OSError:
        return 0o600
    return 0o640 if owner != os.geteuid() else 0o600


def _config(explicit: str | None) -> Config:
    """The config; as root, act as the store's owner (the service's user), who alone may
    open the CA's key."""
    cfg = load_owner_config(config_path(explicit))
    become_store_owner(Path(cfg.store.path).expanduser())
    return cfg


def _issue(args: argparse.Namespace) -> int:
    from device.web.context import WebPaths
    from device.web.tls import lan_address
    from device.wiring import ca

    cfg = _config(args.config)
    if not cfg.web.tls:
        print("web.tls = false (plain HTTP behind a proxy): no certificate to issue")
        return 0
    if cfg.web.cert_file or cfg.web.key_file:
        print("web.cert_file / key_file are set: the web app serves that certificate; "
              "nothing issued")
        return 0
    paths = WebPaths.of(cfg)
    files = ca.CaFiles.of(paths.root)
    lan = lan_address()
    try:
        got = ca.ensure(files, cfg.device.id, [lan] if lan else [], paths.cert, paths.key,
                        new_ca=args.new_ca, key_mode=_key_mode(paths.cert.parent))
    except OSError as exc:
        raise UserError(f"{exc.filename}: {exc.strerror or exc}") from None
    except ValueError as exc:  # a damaged CA certificate or key
        raise UserError(f"the device CA ({files.cert}, {files.key}) cannot be used: {exc}; "
                        "make a new one with `doorcam ca issue --new-ca` (phones then "
                        "install it again)") from None
    if got.ca_made:
        print(f"made the device CA {files.cert}")
    print(f"{'issued' if got.leaf_issued else 'kept'} the web certificate {paths.cert} for "
          f"{', '.join(got.leaf_names.dns + got.leaf_names.ips)}")
    dropped = [n for n in got.wanted.dns + got.wanted.ips
               if n not in got.leaf_names.dns + got.leaf_names.ips]
    if dropped:
        at = next((d for d in got.leaf_names.dns if d.endswith(".local")), None)
        print(f"note: {', '.join(dropped)} (this device's name or address now) is not one "
              f"the CA was made for{f': open https://{at}/ instead,' if at else ';'} or make "
              "a new CA (`doorcam ca issue --new-ca`) and install it on the phones again")
    print(f"CA SHA-256 fingerprint: {got.ca_fingerprint}")
    return 0


def _name(args: argparse.Namespace) -> int:
    from device.wiring.ca import mdns_name

    name = mdns_name(load_owner_config(config_path(args.config)).device.id)
    print(name.removesuffix(".local") if args.host else name)
    return 0


def _show(args: argparse.Namespace) -> int:
    from cryptography.hazmat.primitives import serialization

    from device.wiring import ca

    cfg = _config(args.config)
    files = ca.CaFiles.of(Path(cfg.store.path).expanduser())
    try:
        cert = ca.load_cert(files.cert)
    except FileNotFoundError:
        raise UserError(f"no device CA yet ({files.cert}): make it with "
                        "`doorcam ca issue`") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{files.cert}: {exc}") from None
    names = ca.permitted_names(cert)
    print(f"CA {files.cert}")
    print(f"limited to {', '.join(names.dns + names.ips)}")
    print(f"valid until {cert.not_valid_after_utc:%Y-%m-%d}")
    print(f"SHA-256 fingerprint: "
          f"{ca.fingerprint_der(cert.public_bytes(serialization.Encoding.DER))}")
    return 0
