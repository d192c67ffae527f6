"""Typed, bounded reads of fields from untrusted JSON objects; every misfit is a rejection."""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any, Final

from uplink.errors import RequestRejected

TIME_RE: Final = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")
UUID_RE: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DECIMAL_RE: Final = re.compile(r"-?(0|[1-9][0-9]{0,2})(\.[0-9]{1,7})?")
ID_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# Bidi overrides/isolates let a string display as something other than what it says.
_BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def format_time(epoch_s: int) -> str:
    """Epoch seconds as the protocol's RFC 3339 form, `YYYY-MM-DDTHH:MM:SSZ`."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> int:
    """Inverse of `format_time`; ValueError for anything else (offsets, fractions, ...)."""
    m = TIME_RE.fullmatch(text)
    if m is None:
        raise ValueError("not YYYY-MM-DDTHH:MM:SSZ")
    year, month, day, hour, minute, second = (int(g) for g in m.groups())
    stamp = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    if stamp.year < 1970:
        raise ValueError("before 1970")
    return calendar.timegm(stamp.utctimetuple())


def is_version(value: Any, version: int = 1) -> bool:
    """True for exactly the integer `version`: JSON's true equals 1 in Python, not here."""
    return type(value) is int and value == version


def parse_decimal(text: str, limit: float) -> float:
    """A decimal string with at most 7 fraction digits and |value| <= limit."""
    if DECIMAL_RE.fullmatch(text) is None:
        raise ValueError("not a decimal with at most 7 fraction digits")
    value = float(text)
    if abs(value) > limit:
        raise ValueError(f"outside ±{limit}")
    return value


def check_display_text(text: str, *, multiline: bool = False) -> None:
    """ValueError if `text` holds control or bidi-override characters (newline if allowed)."""
    for ch in text:
        if ch == "\n" and multiline:
            continue
        if ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs"):
            raise ValueError(f"control character U+{ord(ch):04X}")


class Fields:
    """Reads one JSON object field by field; `done()` rejects fields nobody read."""

    def __init__(self, obj: Any, where: str, reason: str = "schema") -> None:
        self.where, self.reason = where, reason
        if not isinstance(obj, dict):
            raise RequestRejected(reason, f"{where} is not an object")
        self.obj: dict[str, Any] = obj
        self.used: set[str] = set()

    def fail(self, key: str, why: str) -> RequestRejected:
        """The rejection for field `key` (to raise)."""
        return RequestRejected(self.reason, f"{self.where}.{key}: {why}")

    def get(self, key: str, kind: type | tuple[type, ...]) -> Any:
        """The raw value, which must exist and be of `kind` (bool never counts as int)."""
        self.used.add(key)
        if key not in self.obj:
            raise self.fail(key, "missing")
        value = self.obj[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(key, "wrong type")
        if not isinstance(value, kind):
            raise self.fail(key, "wrong type")
        return value

    def text(self, key: str, max_len: int, *, pattern: re.Pattern[str] | None = None,
             multiline: bool = False) -> str:
        """A non-empty display-safe string of at most `max_len` characters."""
        value: str = self.get(key, str)
        if not value or len(value) > max_len:
            raise self.fail(key, f"length must be 1..{max_len}")
        if pattern is not None and pattern.fullmatch(value) is None:
            raise self.fail(key, "bad format")
        try:
            check_display_text(value, multiline=multiline)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None
        return value

    def integer(self, key: str, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        value: int = self.get(key, int)
        if not lo <= value <= hi:
            raise self.fail(key, f"must be in {lo}..{hi}")
        return value

    def flag(self, key: str) -> bool:
        """A JSON boolean."""
        value: bool = self.get(key, bool)
        return value

    def time(self, key: str) -> int:
        """An RFC 3339 UTC timestamp `YYYY-MM-DDTHH:MM:SSZ`, as epoch seconds."""
        try:
            return parse_time(self.get(key, str))
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def decimal(self, key: str, limit: float) -> float:
        """A decimal string (see `parse_decimal`)."""
        try:
            return parse_decimal(self.get(key, str), limit)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def nested(self, key: str) -> Fields:
        """The object under `key`, to read in turn."""
        return Fields(self.get(key, dict), f"{self.where}.{key}", self.reason)

    def items(self, key: str, max_items: int) -> list[Any]:
        """A non-empty array of at most `max_items` elements."""
        value: list[Any] = self.get(key, list)
        if not 1 <= len(value) <= max_items:
            raise self.fail(key, f"must have 1..{max_items} items")
        return value

    def done(self) -> None:
        """Reject any field that was not read (v1 allows no unknown fields)."""
        extra = sorted(set(self.obj) - self.used)
        if extra:
            raise self.fail(extra[0][:64], "unknown field")
