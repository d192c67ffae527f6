"""Reading a private key file so that nobody else's file can pass for it.

The store's folder is shared with the web app's user through a group, so that user could
put a file, or a symbolic link, where a key is expected. A key is therefore read only from a
regular file (no link followed) owned by the reader (or, for root, by root or the folder's
owner) that no one else may read or write."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def read_key_file(path: Path) -> bytes:
    """The file's bytes; PermissionError naming what is wrong otherwise."""
    path = Path(path)
    # O_NONBLOCK: a planted FIFO must not hang the reader (regular files ignore it).
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PermissionError(f"{path} is not a regular file; refusing to read a key "
                                  "from it")
        if info.st_mode & 0o077:
            raise PermissionError(f"{path} is readable or writable by others; chmod 600 it")
        me = os.geteuid()
        owners = {me} if me else {0, os.stat(path.parent).st_uid}
        if info.st_uid not in owners:
            raise PermissionError(f"{path} belongs to another user (uid {info.st_uid}); "
                                  "refusing to use it as a key")
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
