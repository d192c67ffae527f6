"""`python3 -m device.web ...`: the same command as `doorcam web ...`, without loading the
other commands (the lightest way to run the web app as a service)."""

from __future__ import annotations

import argparse
import sys

from config import ConfigError
from device.errors import UserError
from device.web import command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="doorcam")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    command.add_parser(sub)
    args = parser.parse_args(["web", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.run(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"doorcam: config error: {problem}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"doorcam: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
