"""Declarative field descriptions for config sections: type, bounds, choices, doc."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

# A check returns None when the value is fine, else a sentence saying what is allowed.
Check = Callable[[Any], "str | None"]


def setting(
    default: Any,
    doc: str,
    *,
    min: float | None = None,
    max: float | None = None,
    choices: tuple[Any, ...] | None = None,
    check: Check | None = None,
    restart: bool = False,
) -> Any:
    """A dataclass field carrying what the loader needs to validate and document it."""
    meta = {
        "doc": doc,
        "min": min,
        "max": max,
        "choices": choices,
        "check": check,
        "restart": restart,
    }
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def secret(field: Any) -> Any:
    """Keep the value out of repr(), so logging a config never prints it (and the loader
    never echoes it in an error)."""
    field.repr = False
    return field


def num(value: float) -> str:
    """A bound as people write it: 10000000, 0.5, 1e-06 only when it must."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def polygons(value: Any) -> str | None:
    """Polygons are lists of >= 3 [x, y] points in 0..1 frame fractions."""
    allowed = "a list of polygons, each a list of at least 3 [x, y] points with 0 <= x, y <= 1"
    if not isinstance(value, list):
        return allowed
    for poly in value:
        if not isinstance(poly, list) or len(poly) < 3:
            return allowed
        for pt in poly:
            if (
                not isinstance(pt, list)
                or len(pt) != 2
                or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in pt)
                or not all(0.0 <= float(c) <= 1.0 for c in pt)
            ):
                return allowed
    return None


def odd_or_zero(value: Any) -> str | None:
    if value == 0 or value % 2 == 1:
        return None
    return "0 (off) or an odd number"
