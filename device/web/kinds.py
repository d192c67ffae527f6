"""What a push is about: one enum from the clip store to the settings page (light: the
pages and the words module import it without the push package).

A clip's kind follows from its trigger and, once people detection labels clips, its labels:
a ring is a ring whatever else was seen; a clip labelled "person" is a person; anything else
the daemon stored is motion. Agency requests are their own kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Kind(StrEnum):
    RING = "ring"
    REQUEST = "request"
    MOTION = "motion"
    PERSON = "person"


ORDER = (Kind.RING, Kind.REQUEST, Kind.PERSON, Kind.MOTION)  # as the settings page lists them
DEFAULT_KINDS = frozenset({Kind.RING, Kind.REQUEST, Kind.PERSON})
PERSON_LABEL = "person"
RING_TRIGGER = "ring"


def clip_kind(trigger: str, labels: Iterable[str] = ()) -> Kind:
    if trigger == RING_TRIGGER:
        return Kind.RING
    if PERSON_LABEL in labels:
        return Kind.PERSON
    return Kind.MOTION


def parse_kinds(text: str) -> frozenset[Kind]:
    """Kinds from their stored form ("ring,request"); unknown names are skipped."""
    known = {k.value: k for k in Kind}
    return frozenset(known[n] for n in text.split(",") if n in known)


def format_kinds(kinds: Iterable[Kind]) -> str:
    return ",".join(k.value for k in ORDER if k in set(kinds))
