"""Daemon logging: the journal with structured fields when systemd runs us, stderr otherwise.

Fields beyond journald's own (PRIORITY, CODE_*, THREAD_NAME, LOGGER): DOORCAM_COMPONENT (the
thread: camera, motion, feed, uploads, ...) on every entry, and on the entries that carry
them DOORCAM_EVENT (motion_started, motion_ended, clip_stored, camera_fault,
camera_recovered, doorbell_ring, person_seen), DOORCAM_EVENT_ID and DOORCAM_CLIP, so that
for example `journalctl -u doorcam DOORCAM_EVENT=camera_fault` lists the camera's faults.
"""

from __future__ import annotations

import logging
import os
import sys

_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
             logging.CRITICAL: 2}


def stderr_is_journal() -> bool:
    """systemd sets JOURNAL_STREAM to the device:inode of the stream it connected to."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return expected == f"{st.st_dev}:{st.st_ino}"


class _Component(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.DOORCAM_COMPONENT = record.threadName
        return True


def priority_prefix(levelno: int) -> str:
    """`<N>`: journald reads a line's priority from it (and adds its own time)."""
    return f"<{_PRIORITY.get(levelno, 6)}>"


class _PriorityPrefix(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{priority_prefix(record.levelno)}{record.threadName}: {super().format(record)}"


def setup_logging(level: str) -> str:
    """Install one handler on the root logger; returns which: journal, journal-stream, stderr."""
    kind, handler = "stderr", None
    if stderr_is_journal():
        try:
            from systemd.journal import JournalHandler

            handler = JournalHandler(SYSLOG_IDENTIFIER="doorcam")
            kind = "journal"
        except ImportError:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(_PriorityPrefix("%(message)s"))
            kind = "journal-stream"
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(threadName)s: %(message)s"))
    handler.addFilter(_Component())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return kind


def event(name: str, **fields: object) -> dict[str, object]:
    """`extra=` for a log call that marks an event: event("clip_stored", clip=id)."""
    extra: dict[str, object] = {"DOORCAM_EVENT": name}
    for key, value in fields.items():
        extra[f"DOORCAM_{key.upper()}"] = value
    return extra
