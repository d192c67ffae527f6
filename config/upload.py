"""The [upload] config section: how accepted clips are sent to an agency's tus endpoint."""

# `setting()` returns a dataclasses.field carrying validation metadata.

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from config.fields import setting


def _ca_file(value: Any) -> str | None:
    if not isinstance(value, str):
        return "a file name"
    if value and not (os.path.isfile(value) and os.access(value, os.R_OK)):
        return "must name a readable PEM file (or be empty for the system's CAs)"
    return None


@dataclass(frozen=True)
class UploadConfig:
    """Timeouts, chunking and retry policy of the clip uploader."""

    connect_timeout_s: float = setting(
        5.0, "Seconds to wait for a TCP connection (and TLS handshake) to the agency.",
        min=0.1, max=120.0)
    read_timeout_s: float = setting(
        15.0, "Seconds to wait for any single read from the agency's server.",
        min=0.1, max=600.0)
    call_deadline_s: float = setting(
        60.0, "Total seconds one HTTP call may take, however slowly the server trickles "
        "bytes; the call is cut when it passes.", min=0.5, max=3600.0)
    chunk_mb: int = setting(
        4, "Megabytes sent per PATCH request; a cut connection resends at most this much.",
        min=1, max=64)
    max_attempts: int = setting(
        8, "Consecutive failed calls before an upload gives up (it resumes later).",
        min=1, max=100)
    backoff_base_s: float = setting(
        1.0, "First retry waits up to this many seconds; each further retry doubles it.",
        min=0.0, max=600.0)
    backoff_max_s: float = setting(
        300.0, "Longest wait between retries, also the cap on a server's Retry-After.",
        min=0.0, max=86400.0)
    give_up_after_hours: float = setting(
        72.0, "Hours an accepted upload may keep failing (each round of calls failing, since "
        "the first failed round) before it is given up for good: marked failed, audited, its "
        "clips released, never retried.", min=0.01, max=8760.0)
    give_up_after_failures: int = setting(
        0, "Failed rounds in a row (each up to max_attempts calls) after which an accepted "
        "upload is given up, however little time passed; 0 = only the hours count.",
        min=0, max=1000000)
    ca_file: str = setting(
        "", "CA certificate file (PEM) that agency upload servers' certificates must chain "
        "to, for an agency with a private CA; empty = the system's CAs.", check=_ca_file)
    allow_insecure_loopback: bool = setting(
        False, "Development only: allow plain http:// to 127.0.0.0/8, ::1 or localhost. "
        "Never set this on a device in use.")
