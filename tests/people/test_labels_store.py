"""Clip labels in the store: the schema migration over an index with clips in it, the read
API (list by label, a clip's labels with their detail), and labels leaving with the clip."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from device.cli import main
from device.store import ClipNotFound, ClipStore
from device.store import index as store_index
from device.store.view import ClipView
from tests.store.helpers import commit_bytes, store_config

PERSON = {"frames": [244, 252], "boxes": [[[0.76, 0.16, 0.17, 0.23]], [[0.5, 0.2, 0.2, 0.2]]]}


def test_an_index_of_schema_4_gains_labels_from_each_clips_trigger(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with ClipStore(store_config(root)) as store:
        motion_id = commit_bytes(store)
        ring_id = commit_bytes(store, trigger="ring", start_wall=1_700_000_100.0)
    # Take the index back to the schema before labels, as a device upgraded from it has.
    conn = sqlite3.connect(root / "index.sqlite3", isolation_level=None)
    conn.execute("DROP TABLE clip_labels")
    conn.execute("PRAGMA user_version = 4")
    conn.close()
    with ClipStore(store_config(root)) as store:
        version = store._conn.execute("PRAGMA user_version").fetchone()[0]
        assert version == store_index.SCHEMA_VERSION == 5
        assert store.get(motion_id).labels == ("motion",)
        assert store.get(ring_id).labels == ("ring",)
        assert [r.id for r in store.list(label="ring")] == [ring_id]
        assert store.labels(ring_id) == {"ring": None}


def test_labels_are_added_read_filtered_and_removed_with_the_clip(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with ClipStore(store_config(root)) as store:
        a = commit_bytes(store, start_wall=1_700_000_000.0)
        b = commit_bytes(store, start_wall=1_700_000_050.0)
        store.add_label(a, "person", PERSON)
        store.add_label(a, "person", PERSON)  # twice: one label, the newest detail
        assert store.get(a).labels == ("motion", "person")
        assert [r.id for r in store.list(label="person")] == [a]
        assert [r.id for r in store.list()] == [b, a]
        assert [r.id for r in store.list(label="person", since=1_700_000_010.0)] == []
        with pytest.raises(ClipNotFound):
            store.add_label("20261206T000000Z-00000000", "person")
        with pytest.raises(ValueError):
            store.add_label(a, "Person; DROP")
        # The owner's app reads the same through its view.
        with ClipView(root) as view:
            assert view.labels(a) == {"motion": None, "person": PERSON}
            assert [r.id for r in view.list(label="person")] == [a]
            assert view.list(label="ring") == []
        store.delete(a)
        left = store._conn.execute("SELECT clip_id FROM clip_labels").fetchall()
        assert left == [(b,)]


def test_clips_list_shows_filters_and_carries_labels(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "store"
    with ClipStore(store_config(root)) as store:
        a = commit_bytes(store, start_wall=1_700_000_000.0)
        b = commit_bytes(store, trigger="ring", start_wall=1_700_000_050.0)
        store.add_label(a, "person", PERSON)
    assert main(["clips", "list", "--store", str(root)]) == 0
    table = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in table.splitlines() if line}
    assert "LABELS" in rows["ID"] and "motion,person" in rows[a] and "ring" in rows[b]
    assert main(["clips", "list", "--store", str(root), "--label", "person", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["id"], c["labels"]) for c in listed] == [(a, ["motion", "person"])]
    assert main(["clips", "list", "--store", str(root), "--label", "ring", "--json"]) == 0
    assert [c["id"] for c in json.loads(capsys.readouterr().out)] == [b]
    with pytest.raises(SystemExit):
        main(["clips", "list", "--store", str(root), "--label", "cat"])
    assert "invalid choice: 'cat'" in capsys.readouterr().err
