"""Render the commented example config from the schema, so the two cannot drift."""

from __future__ import annotations

import dataclasses
import textwrap
from typing import Any

from config.fields import num
from config.schema import SECTIONS

HEADER = """\
# doorcam configuration (TOML). Every setting is optional; the value shown is the default.
# Check a file with `doorcam config check FILE`; see the effective values with
# `doorcam config show --config FILE`. Generated from config/schema.py by
# `doorcam config example`; tests fail when this file and the schema disagree."""


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def _fields(cls: Any) -> list[dataclasses.Field[Any]]:
    """A section's settings in the order they are shown: its on/off switch first."""
    return sorted(dataclasses.fields(cls), key=lambda f: f.name != "enabled")


def render_example() -> str:
    out = [HEADER]
    for name, cls in SECTIONS.items():
        out.append("")
        out.append(f"# {cls.__doc__.strip() if cls.__doc__ else name}")
        out.append(f"[{name}]")
        instance = cls()
        for f in _fields(cls):
            meta = f.metadata
            doc = meta["doc"]
            extra = []
            if meta.get("min") is not None:
                extra.append(f"{num(meta['min'])}..{num(meta['max'])}")
            if meta.get("choices"):
                extra.append("one of " + ", ".join(meta["choices"]))
            if meta.get("restart"):
                extra.append("needs a restart")
            if extra:
                doc += " [" + "; ".join(extra) + "]"
            for line in textwrap.wrap(doc, 94):
                out.append(f"# {line}")
            out.append(f"{f.name} = {toml_value(getattr(instance, f.name))}")
    return "\n".join(out) + "\n"


def render_effective(cfg: Any) -> str:
    """The effective config (defaults filled in) as TOML. A secret (a field kept out of
    repr(): passwords) shows only whether it is set."""
    out = []
    for name in SECTIONS:
        section = getattr(cfg, name)
        out.append(f"[{name}]")
        for f in _fields(section):
            value = getattr(section, f.name)
            if not f.repr and value:
                out.append(f"# {f.name} is set (hidden)")
            else:
                out.append(f"{f.name} = {toml_value(value)}")
        out.append("")
    return "\n".join(out)
