"""Every command's arguments say what they are in `--help`."""

from __future__ import annotations

import argparse

from device.cli import build_parser


def _without_help(parser: argparse.ArgumentParser, path: str) -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _without_help(sub, f"{path} {name}")
        elif not isinstance(action, argparse._HelpAction) and not action.help:
            found.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return found


def test_every_argument_has_help() -> None:
    missing = set(_without_help(build_parser(), "doorcam"))
    assert not missing, sorted(missing)
