"""Video signed at capture (ONVIF Media Signing), checked by doorcam's own verifier: a real
libx264 recording through the recorder, tampered with by real remuxing."""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from capture.frame import StreamInfo
from capture.media.cut import cut_clip
from capture.media.mux import Mp4Writer
from capture.media.signing import StreamSigner
from capture.media.signing.stream import length_size_of
from common.mediasign.mp4 import read_samples
from common.mediasign.nal import iter_units
from common.mediasign.sei import is_media_signing_sei, parse_sei
from config.schema import RecordingConfig
from tests.recording.helpers import decode, traffic_packets
from tests.signing.helpers import (
    GOP,
    device_signer,
    flip_byte,
    record_session,
    record_signed_clip,
    remux,
)
from uplink.desk.media_key import MediaKeyFiles
from uplink.protocol.media import verify_media

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Ed25519PrivateKey]:
    root = tmp_path_factory.mktemp("signed")
    key, signer = device_signer(root)
    return record_signed_clip(root, signer), key


def test_a_recorded_clip_is_signed_gop_by_gop_and_verifies(
        signed: tuple[Path, Ed25519PrivateKey]) -> None:
    clip, key = signed
    track, samples = read_samples(clip)
    assert len(samples) == 200
    seis = [i for i, s in enumerate(samples)
            if any(is_media_signing_sei(n) for n in iter_units(s, track.length_size))]
    # After each keyframe's access unit (never in it), and the last frame seals the clip.
    assert seis == [*range(GOP + 1, 200, GOP), 199]
    units = list(iter_units(samples[199], track.length_size))
    assert is_media_signing_sei(units[-1]) and not is_media_signing_sei(units[0])
    report = verify_media(clip, key.public_key())
    assert report.ok and report.signed and report.key_bound, report.lines()
    assert [g.status for g in report.gops] == ["valid"] * 8, "no frame is left unsigned"
    assert [g.counter for g in report.gops] == list(range(1, 9))
    assert report.vendor == "doorcam porch-1 test"


def test_every_clip_of_a_session_verifies_to_its_last_frame(tmp_path: Path) -> None:
    key, signer = device_signer(tmp_path)
    cfg = RecordingConfig(pre_roll_seconds=1.0, post_roll_seconds=0.4, max_clip_seconds=3.0)
    # Two events (the second split at a keyframe when it reaches 3 s) and one that ends
    # mid-GOP right before the next begins: clips overlap through the pre-roll.
    moving = [(30, 60), (110, 260), (290, 300), (312, 330)]
    clips = record_session(tmp_path, signer, 400,
                           lambda i: any(a <= i < b for a, b in moving), cfg)
    assert len(clips) >= 4
    for clip in clips:
        report = verify_media(clip, key.public_key())
        assert report.ok, (clip.name, report.lines())
        assert {g.status for g in report.gops} == {"valid"}, (clip.name, report.lines())
        assert decode(clip).pts, clip.name


def test_a_clip_cut_at_gop_boundaries_by_the_device_still_verifies(
        signed: tuple[Path, Ed25519PrivateKey], tmp_path: Path) -> None:
    start = cut_clip(signed[0], tmp_path / "start.mp4", 2.1, 100.0)
    assert start is not None and start.start_s == 2.0
    report = verify_media(tmp_path / "start.mp4", signed[1].public_key())
    assert report.ok, report.lines()
    assert [g.counter for g in report.gops] == [3, 4, 5, 6, 7, 8]
    assert any("GOP #2, recorded before the clip starts" in n for n in report.notes)
    middle = cut_clip(signed[0], tmp_path / "middle.mp4", 2.1, 5.5)
    assert middle is not None
    report = verify_media(tmp_path / "middle.mp4", signed[1].public_key())
    assert report.ok, report.lines()
    assert [g.status for g in report.gops] == ["valid"] * 3 + ["tail"]
    assert any("the last 13 frames are not covered" in n for n in report.notes)


def test_the_sei_carries_the_leaf_certificate_not_the_anchor(
        signed: tuple[Path, Ed25519PrivateKey], tmp_path: Path) -> None:
    clip, _ = signed
    track, samples = read_samples(clip)
    sei = next(n for n in iter_units(samples[GOP + 1], track.length_size)
               if is_media_signing_sei(n))
    parsed = parse_sei(sei)
    assert parsed.certificates.count(b"BEGIN CERTIFICATE") == 1
    # libx264's sliced threads may cut a picture into several slices: each is hashed.
    assert parsed.record is not None and parsed.record.num_nalus >= GOP
    assert parsed.record.num_nalus == len(parsed.record.hash_list)
    assert len(parsed.signature) <= 72


def test_another_devices_key_is_told_apart(signed: tuple[Path, Ed25519PrivateKey]) -> None:
    clip, _ = signed
    report = verify_media(clip, Ed25519PrivateKey.generate().public_key())
    assert not report.ok and not report.key_bound
    assert "not issued by the manifest's device key" in " ".join(report.problems)


def test_one_altered_frame_is_found_in_its_gop(signed: tuple[Path, Ed25519PrivateKey],
                                                tmp_path: Path) -> None:
    clip = tmp_path / "altered.mp4"
    clip.write_bytes(signed[0].read_bytes())
    flip_byte(clip, 2 * GOP + 10)  # frame 10 of the third GOP
    report = verify_media(clip, signed[1].public_key())
    assert not report.ok
    assert [g.status for g in report.gops][:4] == ["valid", "valid", "altered", "valid"]
    assert report.gops[2].detail == "frame(s) 10 differ"


def test_a_removed_gop_is_reported_missing(signed: tuple[Path, Ed25519PrivateKey],
                                           tmp_path: Path) -> None:
    order = [i for i in range(200) if not 3 * GOP <= i < 4 * GOP]  # the fourth GOP goes
    report = verify_media(remux(signed[0], tmp_path / "cut.mp4", order),
                          signed[1].public_key())
    assert not report.ok
    text = " ".join(report.problems)
    assert "GOP #4" in text and "missing" in text, report.lines()


def test_swapped_gops_are_reported_reordered(signed: tuple[Path, Ed25519PrivateKey],
                                             tmp_path: Path) -> None:
    g = list(range(200))
    order = g[:2 * GOP] + g[3 * GOP:4 * GOP] + g[2 * GOP:3 * GOP] + g[4 * GOP:]
    report = verify_media(remux(signed[0], tmp_path / "swap.mp4", order), signed[1].public_key())
    assert not report.ok
    assert "GOP #3 comes after GOP #4: GOPs were reordered" in report.problems, report.lines()


@pytest.mark.parametrize("sign", [True, False])
def test_recording_sign_turns_signing_at_capture_on_and_off(tmp_path: Path, sign: bool
                                                            ) -> None:
    """Through the device's own wiring; an unsigned clip is told apart from a tampered one."""
    from config import parse_config
    from device.wiring import build
    from tests.recording.helpers import frame

    cfg = parse_config(f'[store]\npath = "{tmp_path}/store"\n[uplink]\ndevice_key_file = '
                       f'"{tmp_path}/device_key.pem"\n[recording]\nsign = {str(sign).lower()}\n')
    with build.open_store(cfg) as store:
        rec = build.make_recorder(cfg, StreamInfo(320, 240, 25.0, "rawvideo"), store)
        for i in range(60):
            rec.push(frame(i), motion=True, score=1.0)
        [clip] = rec.close()
        path = store.clip_path(clip.id)
    report = verify_media(path)
    assert report.signed is sign and report.ok is sign, report.lines()
    if sign:
        return
    done = subprocess.run([sys.executable, "-m", "device.cli", "agency", "verify", str(path)],
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and done.stderr == ""
    assert done.stdout.startswith("not signed at capture: the video carries no signatures")
    assert "problem" not in done.stdout and "NOT VALID" not in done.stdout


def test_remuxed_length_prefixed_h264_with_b_frames_is_signed(test_data: Path,
                                                              tmp_path: Path) -> None:
    packets, avcc = traffic_packets(test_data / "dvrscan" / "traffic_camera.mp4")
    key, signer = device_signer(tmp_path)
    assert length_size_of(avcc) == 4
    stream = StreamSigner(signer, length_size_of(avcc))
    info = StreamInfo(1280, 720, 25.0, "h264", extradata=avcc)
    signed = [stream.sign(p, 1_700_000_000.0 + p.pts) for p in packets]
    unsealed, sealed = tmp_path / "unsealed.mp4", tmp_path / "sealed.mp4"
    for path, last in ((unsealed, signed[-1]), (sealed, dataclasses.replace(
            signed[-1], data=signed[-1].data + stream.seal(1_700_000_000.0 + packets[-1].pts)))):
        w = Mp4Writer(path, info)
        for p in [*signed[:-1], last]:
            w.write(p)
        w.close()
    assert stream.seis >= 2
    report = verify_media(unsealed, key.public_key())
    assert report.ok, report.lines()
    assert [g.status for g in report.gops][-1] == "tail"
    report = verify_media(sealed, key.public_key())
    assert report.ok, report.lines()
    assert {g.status for g in report.gops} == {"valid"}
    assert len(report.gops) == stream.seis  # one signature per GOP, the last one sealed


def test_the_video_key_is_private_and_reused(tmp_path: Path) -> None:
    key, first = device_signer(tmp_path)
    files = MediaKeyFiles.beside(tmp_path / "device_key.pem")
    assert stat.S_IMODE(os.stat(files.key).st_mode) == 0o600
    from uplink.desk.media_key import load_or_create_media_signer

    again = load_or_create_media_signer(key, tmp_path / "device_key.pem", "porch-1")
    assert again.certificates == first.certificates
