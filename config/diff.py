"""What changed between two configs, and whether each change needs a restart."""

from __future__ import annotations

import dataclasses

from config.schema import SECTIONS, Config


def changed_settings(old: Config, new: Config) -> list[tuple[str, bool]]:
    """(section.key, needs_restart) for every setting whose value differs."""
    out = []
    for name in SECTIONS:
        a, b = getattr(old, name), getattr(new, name)
        for f in dataclasses.fields(a):
            if getattr(a, f.name) != getattr(b, f.name):
                out.append((f"{name}.{f.name}", bool(f.metadata.get("restart"))))
    return out
