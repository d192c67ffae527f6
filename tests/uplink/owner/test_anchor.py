"""The owner's anchor on its own: what it refuses, what it keeps, and a file it cannot read
named rather than trusted or overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from uplink.owner import Anchor, DeviceView, ViewProblem, ViewRefused


def _view(seq: int) -> dict[str, object]:
    return {"audit_seq": seq, "at": "2026-12-01T00:00:00Z"}


def _head(seq: int, digest: str) -> dict[str, object]:
    return {"seq": seq, "hash": digest, "at": "2026-12-01T00:00:01Z"}


def test_a_view_or_head_older_than_the_anchor_is_refused(tmp_path: Path) -> None:
    anchor = Anchor("KEY", 5, "h5", "t")
    anchor.check(_view(5), _head(5, "h5"))  # as new: fine
    with pytest.raises(ViewRefused) as info:
        anchor.check(_view(4), _head(6, "h6"))
    assert info.value.problem == ViewProblem.ROLLED_BACK
    for head in (_head(4, "h4"), _head(5, "other")):
        with pytest.raises(ViewRefused) as info:
            anchor.check(_view(6), head)
        assert info.value.problem == ViewProblem.LOG_CUT


def test_a_view_behind_the_head_read_with_it_is_refused() -> None:
    assert not DeviceView(_view(7), None).behind  # no head read: nothing to compare
    DeviceView(_view(7), _head(7, "h7")).check_current()
    with pytest.raises(ViewRefused) as info:
        DeviceView(_view(5), _head(7, "h7")).check_current()
    assert info.value.problem == ViewProblem.BEHIND and "entry 5" in info.value.detail


def test_the_anchor_keeps_other_keys_and_names_a_file_it_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "anchors" / "porch-1.json"
    assert Anchor.load(path) == Anchor()
    Anchor("KEY", extra={"note": "kept"}).advanced(_head(3, "h3")).save(path)
    assert json.loads(path.read_text()) == {"note": "kept", "device_key": "KEY", "seq": 3,
                                            "hash": "h3", "at": "2026-12-01T00:00:01Z"}
    assert path.stat().st_mode & 0o777 == 0o600
    assert Anchor.load(path) == Anchor("KEY", 3, "h3", "2026-12-01T00:00:01Z",
                                       {"note": "kept"})
    path.write_text("{not json")
    with pytest.raises(ValueError, match="unreadable"):
        Anchor.load(path)
    assert path.read_text() == "{not json"
