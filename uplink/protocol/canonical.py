"""Hostile-input-safe JSON parsing and the canonical encoding that signatures cover.

Canonical encoding (protocol v1, see docs/protocol.md): UTF-8 JSON of an object whose
values are only objects, arrays, strings, integers in [-(2**53-1), 2**53-1], true, false
and null; keys match `[a-z][a-z0-9_]{0,63}` and are sorted (ASCII, so every language sorts
them alike); no whitespace; strings are escaped only where JSON requires it (`"`, `\\`,
U+0000..U+001F, the latter as `\\u00XX` lower-case hex except `\\b \\f \\n \\r \\t`);
non-ASCII characters are written as raw UTF-8. No floats anywhere.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from uplink.errors import RequestRejected

MAX_SAFE_INT: Final = 2**53 - 1
KEY_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")
DEFAULT_MAX_BYTES: Final = 64 * 1024
DEFAULT_MAX_DEPTH: Final = 8

JsonObject = dict[str, Any]


class _Invalid(Exception):
    """Raised inside json.loads hooks; turned into RequestRejected by `parse_json`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _pairs_hook(pairs: list[tuple[str, Any]]) -> JsonObject:
    obj: JsonObject = {}
    for key, value in pairs:
        if key in obj:
            raise _Invalid("bad_json", f"duplicate key {key[:64]!r}")
        obj[key] = value
    return obj


def _no_constant(name: str) -> Any:
    raise _Invalid("bad_json", f"{name} is not JSON")


def _no_float(text: str) -> Any:
    raise _Invalid("schema", f"non-integer number {text[:32]!r}")


def nesting_depth(text: str) -> int:
    """Deepest `[`/`{` nesting in JSON text, counted without recursion (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_json(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
) -> JsonObject:
    """Parse untrusted bytes into a JSON object; every failure is a `RequestRejected`."""
    if not isinstance(data, bytes | bytearray):
        raise RequestRejected("schema", "payload is not bytes")
    if len(data) > max_bytes:
        raise RequestRejected("oversized", f"{len(data)} bytes > {max_bytes}")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestRejected("bad_utf8", f"invalid UTF-8 at byte {exc.start}") from None
    # Checked before json.loads so deep input never reaches its recursive decoder.
    if nesting_depth(text) > max_depth:
        raise RequestRejected("bad_json", f"nested deeper than {max_depth}")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs_hook,
            parse_constant=_no_constant,
            parse_float=_no_float,
        )
    except _Invalid as exc:
        raise RequestRejected(exc.reason, exc.detail) from None
    except (ValueError, RecursionError) as exc:
        raise RequestRejected("bad_json", str(exc)[:200]) from None
    if not isinstance(value, dict):
        raise RequestRejected("schema", "top level is not a JSON object")
    check_canonical_value(value)
    return value


def check_canonical_value(value: Any, path: str = "$") -> None:
    """Raise `RequestRejected("schema")` unless `value` can be canonically encoded."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, int):
            if not -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                raise RequestRejected("schema", f"{where}: integer out of range")
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise RequestRejected("schema", f"{where}: lone surrogate in string") from None
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(item))
        elif isinstance(item, Mapping):
            for key, v in item.items():
                if not isinstance(key, str) or not KEY_RE.fullmatch(key):
                    raise RequestRejected("schema", f"{where}: bad key {str(key)[:64]!r}")
                stack.append((f"{where}.{key}", v))
        else:
            raise RequestRejected("schema", f"{where}: {type(item).__name__} not allowed")


def canonical_bytes(obj: Mapping[str, Any]) -> bytes:
    """The exact bytes a signature covers; `RequestRejected("schema")` if not encodable."""
    check_canonical_value(obj)
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)
    return text.encode("utf-8")
