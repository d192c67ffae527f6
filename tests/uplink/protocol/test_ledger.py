"""The replay ledger: ids are remembered across restarts and forgotten only when no copy of
the request could be valid any more."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.uplink import UplinkConfig
from uplink.errors import RequestRejected
from uplink.protocol import RequestLedger
from uplink.protocol.ledger import KEEP_S
from uplink.protocol.request import MAX_EXPIRY_S

NOW = 1_800_000_000.0


def test_a_seen_id_is_a_replay_after_a_restart(tmp_path: Path) -> None:
    with RequestLedger(tmp_path / "l.sqlite3") as ledger:
        ledger.record("r1", "aa", NOW)
    with RequestLedger(tmp_path / "l.sqlite3") as ledger, \
            pytest.raises(RequestRejected, match="DIFFERENT body"):
        ledger.record("r1", "bb", NOW + 10)


def test_prune_forgets_only_ids_no_request_could_still_use(tmp_path: Path) -> None:
    with RequestLedger(tmp_path / "l.sqlite3") as ledger:
        ledger.record("old", "aa", NOW - KEEP_S - 1)
        ledger.record("recent", "bb", NOW - MAX_EXPIRY_S - 3600)
        assert ledger.prune(NOW) == 1
        assert ledger.seen("old") is None and ledger.seen("recent") is not None
        assert ledger.prune(NOW) == 0


def test_the_margin_covers_the_longest_life_and_the_largest_skew() -> None:
    largest_skew = UplinkConfig.__dataclass_fields__["clock_skew_s"].metadata["max"]
    assert MAX_EXPIRY_S + largest_skew + 86400 <= KEEP_S
