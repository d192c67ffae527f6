"""One table says, for every kind of source spec, how it is checked and opened and whether
it is live and its clips simulated; the spec's form picks the row."""

from __future__ import annotations

from pathlib import Path

import pytest

from capture.frame import SourceError
from capture.sources import SOURCES, SourceKind, is_live, is_simulated, source_kind


def test_every_kind_has_one_row_and_only_cameras_are_live() -> None:
    assert set(SOURCES) == set(SourceKind)
    assert all(row.kind == kind for kind, row in SOURCES.items())
    assert {k for k, row in SOURCES.items() if row.live} == {SourceKind.PICAMERA,
                                                             SourceKind.LIVE}
    assert all(row.simulated == (not row.live) for row in SOURCES.values())


def test_the_spec_picks_its_row(tmp_path: Path) -> None:
    video = tmp_path / "door.mp4"
    video.write_bytes(b"")
    cases = {"picamera:0": SourceKind.PICAMERA, "synthetic:porch": SourceKind.SYNTHETIC,
             "camera:0": SourceKind.LIVE, "/dev/video2": SourceKind.LIVE,
             "rtsp://127.0.0.1/stream": SourceKind.LIVE, str(tmp_path): SourceKind.IMAGES,
             str(tmp_path / "frame%04d.png"): SourceKind.IMAGES, str(video): SourceKind.VIDEO}
    for spec, kind in cases.items():
        assert source_kind(spec) == kind, spec
        assert is_live(spec) == SOURCES[kind].live and is_simulated(spec) == (
            not SOURCES[kind].live), spec
    for bad in ("", "gopher://x", "ftp:thing"):
        with pytest.raises(SourceError):
            source_kind(bad)
    assert is_live("gopher://x") and not is_live("")  # as before: opening it says why
