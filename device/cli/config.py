"""`doorcam config check|show|example`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from config.example import render_effective, render_example
from device.access import INSTALLED_CONFIG, config_path, load_owner_config
from device.errors import UserError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("config", help="check a config file or show the effective config")
    csub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = csub.add_parser(
        "check", help="every check `doorcam run` makes at start (source, store, keys, "
        "registry, brokers, web TLS); every problem with its line")
    check.add_argument("file", nargs="?", help="the config file (default: --config, "
                       "$DOORCAM_CONFIG, else /etc/doorcam/doorcam.toml)")
    check.add_argument("--config", metavar="FILE", dest="config",
                       help="the config file, as the other commands take it")
    check.add_argument("--no-capture", action="store_true",
                       help="as for `doorcam run --no-capture`: leave capture.source out")
    check.add_argument("--registry", metavar="FILE", type=Path,
                       help="check against this agency registry, about to be installed, "
                       "instead of the installed one")
    check.set_defaults(run=_check)
    show = csub.add_parser("show", help="print the effective config, defaults filled in")
    show.add_argument("--config", metavar="FILE", help="config file (default: $DOORCAM_CONFIG, "
                      "else /etc/doorcam/doorcam.toml if there is one, else the defaults)")
    show.set_defaults(run=_show)
    example = csub.add_parser("example", help="print the commented example config")
    example.set_defaults(run=_example)


def _check(args: argparse.Namespace) -> int:
    from device.wiring.checks import load_checked

    if args.file and args.config:
        raise UserError("config check: give the file once, as FILE or as --config FILE")
    path = config_path(args.file or args.config)
    if path is None:
        raise UserError(f"config check: no config file given and no {INSTALLED_CONFIG}: "
                        "name the file to check")
    _, report = load_checked(path, capture=not args.no_capture, registry=args.registry)
    for warning in report.warnings:
        print(f"warning: {warning}")
    for note in report.notes:
        print(f"note: {note}")
    print(f"{path}: ok")
    return 0


def _show(args: argparse.Namespace) -> int:
    print(render_effective(load_owner_config(config_path(args.config))), end="")
    return 0


def _example(args: argparse.Namespace) -> int:
    print(render_example(), end="")
    return 0
