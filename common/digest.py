"""SHA-256 of files, streamed: a long 1080p clip is tens of MB, never read whole."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CHUNK = 1 << 20


def sha256_file_and_size(path: Path, *, fsync: bool = False) -> tuple[str, int]:
    """Hex SHA-256 and size in bytes of a file, read in 1 MiB blocks; with `fsync`, the
    file is made durable on the way (one open for both)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
            size += len(block)
        if fsync:
            os.fsync(f.fileno())
    return digest.hexdigest(), size


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    return sha256_file_and_size(path)[0]
