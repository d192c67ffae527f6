"""The store's directory layout and the file operations that make writes durable.

<root>/clips/<id>.mp4      committed clips
<root>/thumbs/<id>.jpg     their peak-frame thumbnails
<root>/tmp/                in-progress files; at start-up a clip cut short is indexed
                           from here (see reconcile.py), the rest is disposable
<root>/orphans/            clips found without an index row, kept for the owner to inspect
<root>/index.sqlite3       the index (WAL mode)
<root>/lock                flock: shared while a store is open, exclusive to reconcile
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass
from pathlib import Path

from common import sha256_file
from device.store.ids import validate_clip_id

CHUNK = 1 << 20
# Owner and group (the web app's own user reads and deletes clips), as far as the umask
# allows; never others. Files likewise: 0660 less the umask.
DIR_MODE = 0o770
FILE_MODE = 0o660
PART = ".part"  # an in-progress clip or thumbnail
JOURNAL = ".meta.json"  # a commit's index row, written before the clip is renamed into clips/
OPENED = ".open.json"  # the recorder's note on a clip in progress (capture's ClipOpened)
DELETING = ".deleted"  # a clip moved out of clips/ whose row is about to be removed


@dataclass(frozen=True)
class Layout:
    """Paths inside one store; every per-clip path validates its id first."""

    root: Path

    @property
    def clips(self) -> Path:
        return self.root / "clips"

    @property
    def thumbs(self) -> Path:
        return self.root / "thumbs"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @property
    def orphans(self) -> Path:
        return self.root / "orphans"

    @property
    def index(self) -> Path:
        return self.root / "index.sqlite3"

    @property
    def lock(self) -> Path:
        return self.root / "lock"

    def clip(self, clip_id: str) -> Path:
        return self.clips / f"{validate_clip_id(clip_id)}.mp4"

    def thumb(self, clip_id: str) -> Path:
        return self.thumbs / f"{validate_clip_id(clip_id)}.jpg"

    def tmp_clip(self, clip_id: str) -> Path:
        return self.tmp / f"{validate_clip_id(clip_id)}.mp4{PART}"

    def tmp_thumb(self, clip_id: str) -> Path:
        return self.tmp / f"{validate_clip_id(clip_id)}.jpg{PART}"

    def journal(self, clip_id: str) -> Path:
        return self.tmp / f"{validate_clip_id(clip_id)}{JOURNAL}"

    def opened(self, clip_id: str) -> Path:
        return self.tmp / f"{validate_clip_id(clip_id)}{OPENED}"

    def salvage(self, clip_id: str) -> Path:
        return self.tmp / f"{validate_clip_id(clip_id)}.mp4.salvage"

    def deleting(self, clip_id: str) -> Path:
        return self.tmp / f"{validate_clip_id(clip_id)}.mp4{DELETING}"

    def not_a_store(self) -> str | None:
        """Why the root must not become a store, else None. Recovery takes everything in
        clips/, thumbs/ and tmp/ as the store's, so a directory that holds no store (neither
        its index nor its lock file) but files there, a mistyped path such as a home
        directory with a tmp/, is refused, and so is a file."""
        root = self.root
        if root.exists() and not root.is_dir():
            return (f"{root} is not a directory but a file: the clip store is a directory "
                    "(check --store or store.path in the config)")
        if self.index.exists() or self.lock.exists() or not root.is_dir():
            return None  # a store (one whose index was lost too: recovery keeps its clips)
        for d in (self.clips, self.thumbs, self.tmp):
            if d.is_dir() and any(d.iterdir()):
                return (f"{root} is not a clip store (no index.sqlite3) but its {d.name}/ "
                        "holds files a store would take as its own: check --store or "
                        "store.path in the config, or choose a new or empty directory")
        return None

    def create(self) -> None:
        """Make the directories (never readable by others: footage of the owner's door is
        private)."""
        self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        for d in (self.clips, self.thumbs, self.tmp):
            d.mkdir(mode=DIR_MODE, exist_ok=True)


def write_synced(path: Path, data: bytes) -> None:
    """Write a new file and fsync it (the caller renames it into place)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_quiet(path: Path) -> bool:
    """Remove a file if it is there; True if something was removed."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def copy_synced(src: Path, dest: Path, overwrite: bool) -> str:
    """Copy `src` to `dest` (exclusive create unless `overwrite`), fsync; SHA-256 of the copy."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    fd = os.open(dest, flags, FILE_MODE)
    try:
        with open(src, "rb") as f:
            while chunk := f.read(CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    return sha256_file(dest)


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def remove_all(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()
