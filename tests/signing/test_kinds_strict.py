"""Every kind of clip the device stores or shares passes doorcam's verifier in strict mode,
which refuses what ONVIF's reference validator refuses (tests/signing/test_onvif_validator.py
runs that validator on the same clips where it can be built). The clips that validator read
INVALID before are the regression cases: pre-roll overlaps, GOPs signed in parts, a seal at a
GOP's end, B-frame files written with an edit list."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from common.mediasign.mp4 import h264_track
from tests.signing.helpers import GOP, flip_byte, remux
from tests.signing.kinds import KINDS, Made
from uplink.protocol.media import verify_media

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "device.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_of_clip_passes_the_strict_verifier(made_kind: Callable[[str], Made],
                                                      kind: str) -> None:
    clips, _ = made_kind(kind)
    for clip in clips:
        report = verify_media(clip, strict=True)
        assert report.ok, (clip.name, report.lines())
        statuses = [g.status for g in report.gops]
        assert set(statuses[:-1]) <= {"valid"} and statuses[-1] in ("valid", "tail"), \
            (clip.name, report.lines())


def test_a_session_has_a_gop_signed_in_parts_across_two_clips(
        made_kind: Callable[[str], Made]) -> None:
    # The precondition of the session kind: it really holds the cases it is named for.
    clips, _ = made_kind(next(iter(KINDS)))
    assert len(clips) == 3
    details = [g.detail for c in clips for g in verify_media(c).gops]
    assert any("signed in 2 parts" in d for d in details), details


@pytest.mark.parametrize("tamper", ["altered frame", "removed GOP"])
def test_a_tampered_clip_fails_the_strict_verifier(made_kind: Callable[[str], Made],
                                                   tmp_path: Path, tamper: str) -> None:
    src = made_kind(next(iter(KINDS)))[0][1]
    clip = tmp_path / "t.mp4"
    if tamper == "altered frame":
        clip.write_bytes(src.read_bytes())
        flip_byte(clip, GOP + 10)
    else:
        n = len(verify_media(src).gops) * GOP
        g = list(range(n))
        remux(src, clip, g[:GOP] + g[2 * GOP:])
    assert not verify_media(clip, strict=True).ok


def test_an_edit_list_that_starts_late_is_refused_only_in_strict_mode(
        made_kind: Callable[[str], Made], tmp_path: Path) -> None:
    # The file's B-frame clip remuxed as FFmpeg does by default (with an edit list): its
    # frames are intact, but GStreamer's demuxer drops the first access unit, so the
    # reference validator reads it INVALID (as it read every such clip before).
    src = made_kind("a real camera's file (B-frames, long GOPs, its own SEIs)")[0][0]
    clip = tmp_path / "edit-list.mp4"
    with av.open(str(src)) as inp, av.open(str(clip), "w", format="mp4") as out:
        s = inp.streams.video[0]
        o = out.add_stream_from_template(s, opaque=True)
        packets = [q for q in inp.demux(s) if q.size]
        shift = min(q.pts for q in packets if q.pts is not None)
        assert shift > 0  # as stored: the first picture a frame late, no edit list
        for q in packets:
            assert q.pts is not None and q.dts is not None
            q.pts, q.dts = q.pts - shift, q.dts - shift  # the first decode time negative
            q.stream = o
            out.mux(q)
    assert h264_track(clip).edit_start > 0 and h264_track(src).edit_start == 0
    assert verify_media(clip).ok
    loose = run_cli("agency", "verify", str(clip))
    strict = run_cli("agency", "verify", str(clip), "--strict")
    assert loose.returncode == 0 and strict.returncode == 1, (loose.stdout, strict.stdout)
    assert "edit list" in strict.stdout and "NOT VALID" in strict.stdout
