"""The files a command reads and writes its results to (`--frames-csv`, `--events-jsonl`)."""

from __future__ import annotations

import os
from typing import TextIO

from device.errors import UserError


def check_source(source: str | None) -> None:
    """UserError for a source given as an empty string (an unset shell variable), which
    would otherwise mean the camera or the demo scene."""
    if source is not None and not source.strip():
        raise UserError("the source is empty: give a video file, an image folder or pattern, "
                        "or synthetic:NAME")


def open_output(path: str | None, option: str, *, source: str | None,
                newline: str | None = None) -> TextIO | None:
    """`path` opened for writing, None without one; a path that cannot be written, or that
    is the `source` file itself (writing it would destroy the video), is bad input (exit 2),
    named with its option, before anything else is opened or made."""
    if not path:
        return None
    try:
        same = bool(source) and os.path.samefile(path, str(source))
    except (OSError, ValueError):  # either is not there (yet), or no file at all
        same = False
    if same:
        raise UserError(f"{option} {path} is the source video itself: writing it would "
                        "destroy the video; choose another file")
    try:
        return open(path, "w", encoding="utf-8", newline=newline)
    except OSError as exc:
        raise UserError(f"{option} {path}: cannot be written ({exc.strerror or exc})") from None
