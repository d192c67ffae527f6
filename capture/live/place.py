"""Where the live directory may be: on tmpfs (never the SD card), owned by this user."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})


class LiveDirError(Exception):
    """The live directory cannot be used; the message is one line for the user."""


def filesystem_of(path: Path, mountinfo: Path = Path("/proc/self/mountinfo")) -> str:
    """The type of the file system holding `path` (the longest mount point above it)."""
    target = os.path.realpath(path)
    best, kind = "", "unknown"
    try:
        lines = mountinfo.read_text(encoding="utf-8").splitlines()
    except OSError:
        return kind
    for line in lines:
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        fstype = line.split(" - ", 1)[1].split()[0]
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fstype
    return kind


def prepare_dir(path: Path) -> Path:
    """Make `path` (mode 0750: the web app reads it through the daemon's group) if needed
    and check it: a directory, not a link, ours, on a memory file system. LiveDirError says
    what is wrong."""
    path = Path(path)
    try:
        path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o750)
        info = os.lstat(path)
    except OSError as e:
        raise LiveDirError(f"live directory {path}: {e.strerror or e}") from e
    if not stat.S_ISDIR(info.st_mode):
        raise LiveDirError(f"live directory {path} is not a directory")
    if info.st_uid != os.getuid():
        raise LiveDirError(f"live directory {path} belongs to another user (uid "
                           f"{info.st_uid}); refusing to publish into it")
    if stat.S_IMODE(info.st_mode) & 0o057 != 0o050:
        try:
            os.chmod(path, 0o750)  # left by an older version (0700) or another umask
        except OSError as e:
            raise LiveDirError(f"live directory {path}: {e.strerror or e}") from e
    kind = filesystem_of(path)
    if kind not in MEMORY_FILESYSTEMS:
        raise LiveDirError(f"live directory {path} is on {kind}, not tmpfs: live video "
                           "would be written to the disk or SD card; set [live] dir to a "
                           "directory on tmpfs (/run, /dev/shm)")
    return path
