"""Which answers are worth retrying, and how long to wait: full-jitter backoff, Retry-After."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from common.httpseam import Response
from config.upload import UploadConfig
from uplink.errors import PermanentUploadError, TransientUploadError, UploadError

# Answers that will not change by asking again. 412 is tus's "protocol version unsupported".
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 412, 413, 415, 422})
TRANSIENT_4XX = frozenset({408, 409, 423, 425, 429, 460})


class RetryableStatus(TransientUploadError):
    """The server answered with a status worth retrying (5xx, 429, 409, 460, ...)."""

    def __init__(self, message: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class RejectedStatus(PermanentUploadError):
    """The server refused for good (400, 401, 403, 413, 415, ...)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class UploadGone(RejectedStatus):
    """404/410 on a known upload URL: the server forgot it, a new upload may start."""


class UploadCancelled(UploadError):
    """The caller asked the upload to stop (e.g. consent withdrawn); resume state is kept."""


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None  # RFC 9110 dates are GMT; a zoneless date is not one
    return max(0.0, when.timestamp() - now)


def check_status(resp: Response, expected: frozenset[int], what: str, *,
                 known_url: bool = False, now: Callable[[], float] = time.time) -> None:
    """Return if `resp.status` is expected, else raise the matching UploadError."""
    status = resp.status
    if status in expected:
        return
    message = f"{what}: HTTP {status} {resp.body[:200]!r}"
    if known_url and status in (404, 410):
        raise UploadGone(message, status)
    if status >= 500 or status in TRANSIENT_4XX:
        raise RetryableStatus(message, status, parse_retry_after(
            resp.headers.get("Retry-After"), now()))
    # Anything else (other 4xx, an unexpected 1xx/2xx) will not improve by asking again.
    raise RejectedStatus(message, status)


class Backoff:
    """Full-jitter exponential backoff: wait U(0, min(max, base·2^(n-1))) before retry n."""

    def __init__(self, cfg: UploadConfig, *, rand: Callable[[], float] = random.random) -> None:
        self._base = cfg.backoff_base_s
        self._max = cfg.backoff_max_s
        self._rand = rand

    def ceiling(self, failures: int) -> float:
        """The upper bound of the wait after `failures` consecutive failures (>= 1)."""
        exponent = min(max(failures, 1) - 1, 60)  # 2**60 s is already forever
        return min(self._max, self._base * 2.0 ** exponent)

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait; a server's Retry-After wins, capped at backoff_max_s."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self._max)
        return self._rand() * self.ceiling(failures)
