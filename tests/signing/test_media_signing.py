"""Video signed at capture (ONVIF Media Signing), checked by doorcam's own verifier: a real
libx264 recording through the recorder, tampered with by real remuxing."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from capture.frame import StreamInfo
from capture.media.mux import Mp4Writer
from capture.media.signing import StreamSigner
from capture.media.signing.stream import length_size_of
from common.mediasign.mp4 import read_samples
from common.mediasign.nal import iter_units
from common.mediasign.sei import is_media_signing_sei, parse_sei
from tests.recording.helpers import traffic_packets
from tests.signing.helpers import GOP, device_signer, flip_byte, record_signed_clip, remux
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
    assert seis == list(range(GOP, 200, GOP))  # in every keyframe's access unit but the first
    report = verify_media(clip, key.public_key())
    assert report.ok and report.signed and report.key_bound, report.lines()
    assert [g.status for g in report.gops] == ["valid"] * 7 + ["tail"]
    assert [g.counter for g in report.gops[:7]] == list(range(1, 8))
    assert report.vendor == "doorcam porch-1 test"


def test_the_sei_carries_the_leaf_certificate_not_the_anchor(
        signed: tuple[Path, Ed25519PrivateKey], tmp_path: Path) -> None:
    clip, _ = signed
    track, samples = read_samples(clip)
    sei = next(n for n in iter_units(samples[GOP], track.length_size) if is_media_signing_sei(n))
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


def test_a_clip_cut_at_gop_boundaries_still_verifies(signed: tuple[Path, Ed25519PrivateKey],
                                                     tmp_path: Path) -> None:
    part = remux(signed[0], tmp_path / "part.mp4", list(range(GOP, 6 * GOP)))
    report = verify_media(part, signed[1].public_key())
    assert report.ok, report.lines()
    assert [g.counter for g in report.gops if g.status == "valid"] == [2, 3, 4, 5]
    assert any("before the clip starts" in n for n in report.notes)


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
    w = Mp4Writer(tmp_path / "t.mp4", info)
    for p in packets:
        w.write(stream.sign(p, 1_700_000_000.0 + p.pts))
    w.close()
    assert stream.seis >= 1
    report = verify_media(tmp_path / "t.mp4", key.public_key())
    assert report.ok, report.lines()
    assert sum(g.status == "valid" for g in report.gops) == stream.seis


def test_the_video_key_is_private_and_reused(tmp_path: Path) -> None:
    key, first = device_signer(tmp_path)
    files = MediaKeyFiles.beside(tmp_path / "device_key.pem")
    assert stat.S_IMODE(os.stat(files.key).st_mode) == 0o600
    from uplink.desk.media_key import load_or_create_media_signer

    again = load_or_create_media_signer(key, tmp_path / "device_key.pem", "porch-1")
    assert again.certificates == first.certificates
