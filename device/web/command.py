"""`doorcam web`: serve the owner's app; `web adduser|passwd|deluser|url` manage it."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import socket
import sys
import time
from pathlib import Path
from typing import Any

from config import Config
from config.web import split_listen
from device.access import become_store_owner, config_path, load_owner_config
from device.errors import EXIT_USAGE, UserError

log = logging.getLogger("doorcam.web")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("web", help="the owner's web app: serve it, manage its accounts")
    p.add_argument("--config", metavar="FILE", help="config file (TOML)")
    p.add_argument("--listen", metavar="ADDR:PORT",
                   help="address to listen on (default: web.listen, 0.0.0.0:8443)")
    p.set_defaults(run=_serve)
    wsub = p.add_subparsers(dest="web_action", metavar="ACTION")

    def cmd(name: str, text: str, run: Any, *, user: bool = True) -> argparse.ArgumentParser:
        q = wsub.add_parser(name, help=text)
        if user:
            q.add_argument("name", help="account name (a-z 0-9 . _ -)")
        q.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                       help="config file (TOML)")
        q.set_defaults(run=run)
        return q

    for name, text, run in (("adduser", "add a household account", _adduser),
                            ("passwd", "set an account's password (logs it out everywhere)",
                             _passwd)):
        cmd(name, text, run).add_argument(
            "--password-stdin", action="store_true",
            help="read the password from the first line of standard input")
    cmd("deluser", "remove an account and its sessions", _deluser)
    cmd("url", "print the address to open and the certificate's fingerprint", _url,
        user=False).add_argument("--listen", metavar="ADDR:PORT", default=argparse.SUPPRESS,
                                 help="the address the web app listens on, if not web.listen")


def web_config(explicit: str | None) -> Config:
    """The config, read as `doorcam requests` reads it; as root, act as the owner of the
    web app's files."""
    cfg = load_owner_config(config_path(explicit))
    store = Path(cfg.store.path).expanduser()
    # The web app's own files belong to its own service user where it has one.
    become_store_owner(store / "web" if (store / "web").exists() else store)
    return cfg


def _listen(cfg: Config, override: str | None) -> tuple[str, int]:
    text = override or cfg.web.listen
    try:
        host, port = split_listen(text)
    except ValueError:
        raise UserError(f"--listen {text!r}: expected HOST:PORT, e.g. 0.0.0.0:8443") from None
    from uplink.protocol.urls import is_loopback

    if not cfg.web.tls and not is_loopback(host):
        raise UserError(f"web.tls = false is allowed only on a loopback address (127.0.0.1, "
                        f"::1), not {host}: plain HTTP would expose passwords on the network")
    return host, port


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    first = getpass.getpass("New password: ")
    if getpass.getpass("Again: ") != first:
        raise UserError("the two passwords differ; nothing changed")
    return first


def _account_change(args: argparse.Namespace, kind: str) -> int:
    from device.web.accounts import AccountError
    from device.web.context import WebContext

    ctx = WebContext(web_config(getattr(args, "config", None)))
    now = time.time()
    try:
        with ctx.accounts() as acc:
            if kind == "account_added":
                acc.add(args.name, _read_password(args), now)
            elif kind == "password_changed":
                acc.set_password(args.name, _read_password(args), now)
            else:
                acc.remove(args.name)
    except AccountError as exc:
        raise UserError(str(exc)) from None
    with ctx.access() as access:
        access.append(kind, None, {"account": args.name}, at=now)
    print({"account_added": f"account {args.name} added",
           "password_changed": f"password of {args.name} changed; its sessions ended",
           "account_removed": f"account {args.name} removed"}[kind])
    return 0


def _adduser(args: argparse.Namespace) -> int:
    return _account_change(args, "account_added")


def _passwd(args: argparse.Namespace) -> int:
    return _account_change(args, "password_changed")


def _deluser(args: argparse.Namespace) -> int:
    return _account_change(args, "account_removed")


def _certificate(cfg: Config, host: str) -> str | None:
    """Make the certificate on first use; its fingerprint (None for plain HTTP)."""
    from device.web import tls
    from device.web.context import WebPaths

    if not cfg.web.tls:
        return None
    paths = WebPaths.of(cfg)
    if tls.ensure_certificate(paths.cert, paths.key, host):
        log.info("made a self-signed certificate %s", paths.cert)
    return tls.fingerprint(paths.cert)


def with_lan_name(cfg: Config, port: int) -> Config:
    """The config with `[web] public_url` defaulting to the device's .local name when the
    config names none and the app serves a certificate from the device's own CA (passkeys
    need a host name the browser trusts)."""
    from device.web import trust
    from device.web.context import WebPaths

    if cfg.web.public_url or not cfg.web.tls or port == 0:
        return cfg
    paths = WebPaths.of(cfg)
    found = trust.load(paths.root)
    if found is None or not trust.issued_by(paths.cert, found):
        return cfg
    url = trust.default_public_url(found, port)
    return dataclasses.replace(cfg, web=dataclasses.replace(cfg.web, public_url=url))


def addresses(cfg: Config, host: str, port: int) -> list[str]:
    """The addresses to open: for a wildcard listen, the LAN address (default route) and the
    host's .local name (mDNS), else the one listened on."""
    from device.web.tls import lan_address

    scheme = "https" if cfg.web.tls else "http"
    if host in ("0.0.0.0", "::", ""):
        names = [lan_address(), f"{socket.gethostname()}.local"]
    else:
        names = [host]
    found = [f"{scheme}://{f'[{n}]' if ':' in n else n}:{port}/" for n in names if n]
    if cfg.web.public_url:  # the address passkeys work at comes first
        found.insert(0, cfg.web.public_url + "/")
    return list(dict.fromkeys(found))


def _url(args: argparse.Namespace) -> int:
    cfg = web_config(getattr(args, "config", None))
    host, port = _listen(cfg, getattr(args, "listen", None))
    fp = _certificate(cfg, host)
    cfg = with_lan_name(cfg, port)
    for i, address in enumerate(addresses(cfg, host, port)):
        print(f"{'open' if i == 0 else '  or'} {address}")
    if fp:
        print(f"certificate SHA-256 fingerprint: {fp}")
        if cfg.web.public_url:
            print("(a phone that installed this device's CA from the Device page trusts it)")
        else:
            print("(your browser warns about a self-signed certificate: check that the "
                  "fingerprint it shows is this one before you continue)")
    return 0


def _serve(args: argparse.Namespace) -> int:
    if getattr(args, "web_action", None):
        return EXIT_USAGE
    logging.basicConfig(level=logging.INFO, format="doorcam web: %(message)s",
                        stream=sys.stderr)
    cfg = web_config(args.config)
    host, port = _listen(cfg, args.listen)
    fp = _certificate(cfg, host)
    cfg = with_lan_name(cfg, port)
    from device.web.server import serve

    return serve(cfg, host, port, fingerprint=fp, addresses=addresses(cfg, host, port))
