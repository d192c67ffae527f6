"""`doorcam` command line: one parser, one line of error per failure, exit codes by kind."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from config import ConfigError
from device.cli import (
    agency,
    audit,
    ca,
    clips,
    config,
    demo,
    detect,
    owner,
    people,
    registry,
    requests,
    run,
    simulate,
)
from device.errors import EXIT_USAGE, UserError, user_error
from device.web import command as web

COMMANDS = (simulate, detect, clips, config, run, requests, audit, registry, agency, demo,
            owner, people, web, ca)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="doorcam",
        description="A doorbell camera that keeps its footage unless its owner decides "
        "otherwise.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"doorcam: config error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except UserError as exc:
        print(f"doorcam: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("doorcam: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        known = user_error(exc)
        if known is None:
            raise
        print(f"doorcam: {known}", file=sys.stderr)
        return known.exit_code


