"""`doorcam registry install FILE|URL` and `doorcam registry refresh`: put a newer signed
agency registry in place for the daemon (which picks it up within seconds, no restart)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from common import read_at_most
from device.errors import UserError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("registry", help="install or refresh the signed agency registry")
    a = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = a.add_parser("install", help="check a signed registry (file or https URL) and put it "
                                     "in place; a URL is remembered for `refresh`")
    q.add_argument("source", metavar="FILE|URL",
                   help="a signed registry file, or the https:// address it is published at")
    q.add_argument("--ca-file", default="", metavar="PEM",
                   help="for a URL: trust this CA bundle instead of the system's (a private "
                        "registry host); remembered for `refresh`")
    _common(q)
    q.set_defaults(run=_install)
    q = a.add_parser("refresh", help="fetch the registry again from the URL it was installed "
                                     "from, and install it if newer")
    _common(q)
    q.set_defaults(run=_refresh)


def _common(q: Any) -> None:
    q.add_argument("--config", metavar="FILE", help="config file (TOML)")
    q.add_argument("--store", metavar="DIR", help="store directory (default: store.path)")


def _is_url(text: str) -> bool:
    return "://" in text


def _install(args: argparse.Namespace) -> int:
    from device.wiring.registry import Source, fetch

    source = Source(args.source, str(Path(args.ca_file).resolve()) if args.ca_file else "") \
        if _is_url(args.source) else None
    if args.ca_file and source is None:
        raise UserError("--ca-file is only for a URL")
    data = None
    if source is None:
        try:  # read before the config switches to the store's owner (sudo at first boot)
            from uplink.protocol.registry import MAX_REGISTRY_BYTES

            data = read_at_most(args.source, MAX_REGISTRY_BYTES)
        except OSError as exc:
            raise UserError(f"{args.source}: {exc.strerror or exc}") from None
    cfg = _config(args)
    if data is None and source is not None:
        data = fetch(cfg, source)
    assert data is not None
    return _put(cfg, data, args.source, source)


def _refresh(args: argparse.Namespace) -> int:
    from device.wiring.paths import DevicePaths
    from device.wiring.registry import fetch, recorded_source

    cfg = _config(args)
    source = recorded_source(DevicePaths.of(cfg))
    if source is None:
        raise UserError("no registry URL recorded: install it once from its URL "
                        "(doorcam registry install https://...)")
    return _put(cfg, fetch(cfg, source), source.url, source)


def _config(args: argparse.Namespace) -> Any:
    from device.cli.admin import device_config

    return device_config(args.config, args.store)


def _put(cfg: Any, data: bytes, origin: str, source: Any) -> int:
    from device.wiring.paths import DevicePaths
    from device.wiring.registry import install

    now = time.time()
    done = install(cfg, data, origin, now, source)
    reg, path = done.registry, DevicePaths.of(cfg).registry
    if not done.written:
        print(f"registry v{reg.version} is already installed ({path})")
    else:
        was = f" (was v{done.previous_version})" if done.previous_version else ""
        print(f"installed registry v{reg.version}{was} with {len(reg.agencies)} agency(ies) "
              f"at {path}; a running daemon takes it within seconds")
    for line in reg.expiring(now, cfg.uplink.registry_warn_days * 86400):
        print(f"warning: {line}")
    return 0
