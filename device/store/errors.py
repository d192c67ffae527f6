"""The clip store's exceptions, all in one tree so callers can catch `StoreError`.

StoreError                 anything the store cannot do; the message is one line for the user
├── InvalidClipId          a clip id from outside that is not `YYYYMMDDTHHMMSSZ-xxxxxxxx`
├── ClipNotFound           a valid id with no clip in the index
├── StoreIOError           reading or writing the store's files failed; also an OSError, so
│   │                      the recorder treats a failed commit like any failed write
│   └── StoreFull          the disk filled up while committing; nothing earlier was touched
├── IntegrityError         a copy or a stored clip does not match its recorded SHA-256
├── ExportExists           export would overwrite a file and was not told to
├── SchemaTooNew           the index was written by a newer doorcam
├── NoStore                a command that only reads found no store
├── NotAStore              the store's path is a file, or a directory of other files
└── ClipsMissing           the index lists clips but clips/ is empty (a disk not mounted)
"""

from __future__ import annotations


class StoreError(Exception):
    """A clip-store failure with a one-line, user-readable message."""


class InvalidClipId(StoreError):
    pass


class ClipNotFound(StoreError):
    pass


class StoreIOError(StoreError, OSError):
    """Raised with the message as its only argument, so str() is that one line."""


class StoreFull(StoreIOError):
    pass


class IntegrityError(StoreError):
    pass


class ExportExists(StoreError):
    pass


class SchemaTooNew(StoreError):
    pass


class NoStore(StoreError):
    """A command that only reads was pointed at a directory holding no store."""


class NotAStore(StoreError):
    """The store's path is a file, or a directory that holds no store but files the store
    would take as its own (its recovery moves or removes what it does not know)."""


class ClipsMissing(StoreError):
    """The index lists clips but the clips folder is empty: a disk that is not mounted, or an
    index restored without its clips. Recovery would drop every row; nothing is changed."""
