"""Files the commands write their results to (`--frames-csv`, `--events-jsonl`)."""

from __future__ import annotations

from typing import TextIO

from device.errors import UserError


def open_output(path: str | None, option: str, *, newline: str | None = None) -> TextIO | None:
    """`path` opened for writing, None without one; a path that cannot be written is bad
    input (exit 2), named with its option, before anything else is opened or made."""
    if not path:
        return None
    try:
        return open(path, "w", encoding="utf-8", newline=newline)
    except OSError as exc:
        raise UserError(f"{option} {path}: cannot be written ({exc.strerror or exc})") from None
