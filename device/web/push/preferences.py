"""Each account's notification settings: which kinds notify, and a snooze.

Kept in push.sqlite3 beside the subscriptions (table `preferences`), per account: everyone
in the household chooses for their own browsers. An account that never chose gets the
defaults (rings, requests and people; motion as `[push] notify_on_motion` says).

A snooze holds every push for the account until its end: rings, people and motion seen
meanwhile are not sent (they are news only now); an agency request waits and is sent when
the snooze ends (it stays pending for days). Security alerts are never held.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from device.web.kinds import DEFAULT_KINDS, Kind, format_kinds, parse_kinds

MAX_SNOOZE_S = 48 * 3600.0  # "until tomorrow" from a browser in any time zone fits in this

SCHEMA = """
CREATE TABLE IF NOT EXISTS preferences (
    account TEXT PRIMARY KEY, kinds TEXT NOT NULL, snooze_until REAL);
"""


def default_kinds(motion: bool) -> frozenset[Kind]:
    return DEFAULT_KINDS | {Kind.MOTION} if motion else DEFAULT_KINDS


@dataclass(frozen=True)
class Preferences:
    kinds: frozenset[Kind]
    snooze_until: float | None = None
    chosen: bool = False  # False: the defaults, never saved by the account

    def snoozed(self, now: float) -> bool:
        return self.snooze_until is not None and self.snooze_until > now

    def wants(self, kind: Kind, now: float) -> bool:
        """True if a push of `kind` goes out now (a request waits out a snooze instead)."""
        return kind in self.kinds and not self.snoozed(now)


class PreferenceStore:
    """Over an open connection to push.sqlite3 (the caller's thread owns it)."""

    def __init__(self, db: sqlite3.Connection, *, motion_default: bool = False) -> None:
        self.db = db
        self.defaults = default_kinds(motion_default)
        db.executescript(SCHEMA)

    def get(self, account: str) -> Preferences:
        row = self.db.execute("SELECT kinds, snooze_until FROM preferences WHERE account = ?",
                              (account,)).fetchone()
        if row is None:
            return Preferences(self.defaults)
        return Preferences(parse_kinds(row[0]), row[1], True)

    def all(self) -> dict[str, Preferences]:
        """Every account that chose; others get `self.defaults`."""
        return {a: Preferences(parse_kinds(k), s, True) for a, k, s in self.db.execute(
            "SELECT account, kinds, snooze_until FROM preferences")}

    def set_kinds(self, account: str, kinds: frozenset[Kind]) -> Preferences:
        current = self.get(account)
        self.db.execute(
            "INSERT INTO preferences (account, kinds, snooze_until) VALUES (?, ?, ?) "
            "ON CONFLICT (account) DO UPDATE SET kinds = excluded.kinds",
            (account, format_kinds(kinds), current.snooze_until))
        return self.get(account)

    def snooze(self, account: str, until: float | None) -> Preferences:
        """Hold pushes until `until` (None: end the snooze)."""
        current = self.get(account)
        self.db.execute(
            "INSERT INTO preferences (account, kinds, snooze_until) VALUES (?, ?, ?) "
            "ON CONFLICT (account) DO UPDATE SET snooze_until = excluded.snooze_until",
            (account, format_kinds(current.kinds), until))
        return self.get(account)
