"""Reading a file the user named, never more than a limit: a device file (/dev/zero, a pipe
left open) or a video named by mistake must not be read whole."""

from __future__ import annotations

from pathlib import Path


def read_at_most(path: str | Path, limit: int) -> bytes:
    """The file's bytes, at most `limit + 1` of them: one more than `limit` says it is over."""
    with open(path, "rb") as f:
        return f.read(limit + 1)
