"""`doorcam config check|show|example`."""

from __future__ import annotations

import argparse
from typing import Any

from config import load_config
from config.example import render_effective, render_example


def add_parser(sub: Any) -> None:
    p = sub.add_parser("config", help="check a config file or show the effective config")
    csub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = csub.add_parser(
        "check", help="every check `doorcam run` makes at start (source, store, keys, "
        "registry, brokers, web TLS); every problem with its line")
    check.add_argument("file")
    check.add_argument("--no-capture", action="store_true",
                       help="as for `doorcam run --no-capture`: leave capture.source out")
    check.set_defaults(run=_check)
    show = csub.add_parser("show", help="print the effective config, defaults filled in")
    show.add_argument("--config", metavar="FILE", help="config file (default: built-in defaults)")
    show.set_defaults(run=_show)
    example = csub.add_parser("example", help="print the commented example config")
    example.set_defaults(run=_example)


def _check(args: argparse.Namespace) -> int:
    from device.wiring.checks import load_checked

    _, report = load_checked(args.file, capture=not args.no_capture)
    for warning in report.warnings:
        print(f"warning: {warning}")
    for note in report.notes:
        print(f"note: {note}")
    print(f"{args.file}: ok")
    return 0


def _show(args: argparse.Namespace) -> int:
    print(render_effective(load_config(args.config)), end="")
    return 0


def _example(args: argparse.Namespace) -> int:
    print(render_example(), end="")
    return 0
