"""What happened at the door, as the owner's pages name it: each clip's kind (a ring, a
person, motion), from what the store records about it."""

from __future__ import annotations

import enum
from typing import Any, NamedTuple


class EventKind(enum.StrEnum):
    RING = "ring"  # the doorbell was pressed (the clip's trigger)
    PERSON = "person"  # people detection labelled the clip
    MOTION = "motion"


def kind_of(rec: Any) -> EventKind:
    """A ring first (the owner's visitor asked for them), then a person, else motion."""
    if getattr(rec, "trigger", "motion") == EventKind.RING:
        return EventKind.RING
    labels = getattr(rec, "labels", None) or ()
    if EventKind.PERSON in labels:
        return EventKind.PERSON
    return EventKind.MOTION


def filterable() -> tuple[EventKind, ...]:
    """The kinds the store can be asked for: people only once clips carry labels."""
    from device.store.index import ClipRecord

    if "labels" in ClipRecord.__dataclass_fields__:
        return (EventKind.RING, EventKind.PERSON, EventKind.MOTION)
    return (EventKind.RING, EventKind.MOTION)


class StoreFilter(NamedTuple):
    """The clip index's filter for a kind (`ClipView.page`/`count`'s `trigger` and
    `label`): rings and motion by what started the clip, people by their label."""

    trigger: str | None = None
    label: str | None = None


def store_filter(kind: EventKind | None) -> StoreFilter:
    if kind is None:
        return StoreFilter()
    if kind == EventKind.PERSON:
        return StoreFilter(label=kind.value)
    return StoreFilter(trigger=kind.value)


def parse_kind(raw: str) -> EventKind | None:
    """?kind=: one of the kinds, None for all; ValueError for anything else."""
    if raw in ("", "all"):
        return None
    kind = EventKind(raw)
    if kind not in filterable():
        raise ValueError(raw)
    return kind
