"""Content Credentials (C2PA) on shared clips, judged by the C2PA libraries themselves: the
Content Authenticity Initiative's Python library (c2pa-python, which doorcam signs with) and
its WebAssembly reader (c2pa-js, from npm) run in Node: both read a shared clip's manifest
valid and its video hash matching, and a tampered copy invalid."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common import sha256_file
from common.mediasign.mp4 import read_samples
from tests import npm
from tests.signing.helpers import flip_byte
from tests.signing.kinds import KINDS, Made
from tests.signing.onvif import SIGNING_SRC, build_validator, run_validator
from tests.support import require
from uplink.desk.catalog import ClipInfo
from uplink.desk.credentials import RequestCredentials
from uplink.desk.media_key import CredentialsKey, load_or_create_credentials_key
from uplink.desk.scope import CutSpan, Scope
from uplink.protocol.credentials import ASSERTION, CredentialsState, read_credentials
from uplink.protocol.evidence import ClockStatement
from uplink.protocol.media import verify_media

C2PA_JS = Path(__file__).resolve().parents[1] / "c2pa_js"
WALL0 = 1_796_000_000.0


class Catalog:
    """The stored clips as the desk sees them (a `ClipCatalog`)."""

    def __init__(self, clips: dict[str, Path]) -> None:
        self.clips = clips

    def info(self, clip_id: str) -> ClipInfo:
        return ClipInfo(clip_id, WALL0, WALL0 + 8.8, self.clips[clip_id].stat().st_size,
                        sha256_file(self.clips[clip_id]), ClockStatement(True, 12))

    def overlapping(self, start: float, end: float) -> list[ClipInfo]:
        return [self.info(c) for c in self.clips]

    def get(self, clip_id: str) -> ClipInfo | None:
        return self.info(clip_id) if clip_id in self.clips else None

    def set_held(self, clip_id: str, held: bool) -> None:
        pass

    def path(self, clip_id: str) -> Path:
        return self.clips[clip_id]


class WindowCutter:
    """Cuts as the device does (capture.media.cut through the ClipCutter seam)."""

    def cut(self, source: Path, dest: Path, start_s: float, end_s: float) -> CutSpan | None:
        from capture.media.cut import cut_clip
        span = cut_clip(source, dest, start_s, end_s)
        return None if span is None else CutSpan(span.start_s, span.end_s)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory,
           made_kind: Callable[[str], Made]) -> tuple[Path, Path, Path, Path]:
    """A session's clip shared whole and one cut to a window, as the upload worker makes
    them: (whole stored, whole shared, cut shared, the manifest folder)."""
    clips, _ = made_kind(next(iter(KINDS)))
    root = tmp_path_factory.mktemp("share")
    key = load_or_create_credentials_key(Ed25519PrivateKey.generate(),
                                         root / "device_key.pem", "porch-1")
    catalog = Catalog({"whole": clips[0], "cut": clips[1]})
    stamp = RequestCredentials(key, device_id="porch-1", request_id="req-1",
                               case_number="CASE-7", agency_id="pd-1")
    scope = Scope(root / "manifests", "req-1")
    whole = scope.prepare([("whole", catalog.info("whole").sha256)], catalog, WindowCutter(),
                          (WALL0 - 60, WALL0 + 60), stamp)[0]
    cut = scope.prepare([("cut", catalog.info("cut").sha256)], catalog, WindowCutter(),
                        (WALL0 + 1.0, WALL0 + 2.3), stamp)[0]
    assert whole.evidence.credentials and cut.evidence.credentials and cut.cut
    assert whole.evidence.sha256 == sha256_file(whole.path)  # the manifest hashes this file
    return clips[0], whole.path, cut.path, root


def test_the_python_c2pa_reader_reads_a_shared_clip_valid_with_the_devices_statement(
        shared: tuple[Path, Path, Path, Path]) -> None:
    stored, whole, cut, _ = shared
    report = read_credentials(whole)
    # Valid, not Trusted: the signer is the device's own CA, in no trust list.
    assert report.state is CredentialsState.VALID, report.failures
    assert set(report.failures) == {"signingCredential.untrusted"}
    facts = report.facts
    assert facts is not None
    assert facts["device_id"] == "porch-1" and facts["clip_id"] == "whole"
    assert facts["request"] == {"request_id": "req-1", "case_number": "CASE-7",
                                "agency_id": "pd-1"}
    assert facts["clock"] == {"synchronised": True, "max_error_ms": 12}
    assert facts["video_signing"]["signed"] is True and facts["cut"] is None
    assert facts["captured"]["start_unix"] == WALL0
    # The frames are the stored clip's, and its ONVIF signing still verifies.
    assert read_samples(whole)[1] == read_samples(stored)[1]
    assert read_credentials(stored).state is CredentialsState.ABSENT  # the stored clip: none
    assert verify_media(whole, strict=True).ok
    cut_facts = read_credentials(cut).facts
    assert cut_facts is not None and cut_facts["cut"]["start_s"] == pytest.approx(1.0)


@pytest.mark.parametrize("tamper", ["picture byte", "appended byte"])
def test_a_tampered_shared_clip_reads_invalid(shared: tuple[Path, Path, Path, Path],
                                              tmp_path: Path, tamper: str) -> None:
    copy = tmp_path / "t.mp4"
    shutil.copyfile(shared[1], copy)
    if tamper == "picture byte":
        flip_byte(copy, 30)
    else:
        with copy.open("ab") as f:
            f.write(b"\0")
    report = read_credentials(copy)
    assert report.state is CredentialsState.INVALID, report.line()
    assert "INVALID" in report.line()


def c2pa_js(path: Path) -> dict[str, object]:
    require(shutil.which("node") is not None, "node not installed (apt install nodejs npm)")
    modules = npm.node_modules(C2PA_JS)
    work = path.parent / "c2pa-js"
    if not work.exists():
        work.mkdir()
        (work / "node_modules").symlink_to(modules, target_is_directory=True)
        shutil.copyfile(C2PA_JS / "read.mjs", work / "read.mjs")
    run = subprocess.run(["node", str(work / "read.mjs"), str(path), ASSERTION],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    out: dict[str, object] = json.loads(run.stdout)
    return out


def test_a_second_c2pa_verifier_agrees(shared: tuple[Path, Path, Path, Path],
                                       tmp_path: Path) -> None:
    good = c2pa_js(shared[1])
    assert good["state"] == "Valid" and good["failures"] == ["signingCredential.untrusted"], good
    assert isinstance(good["assertion"], dict) and good["assertion"]["clip_id"] == "whole"
    copy = tmp_path / "t.mp4"
    shutil.copyfile(shared[1], copy)
    flip_byte(copy, 30)
    bad = c2pa_js(copy)
    assert bad["state"] == "Invalid" and "assertion.bmffHash.mismatch" in bad["failures"], bad


def test_a_resumed_upload_sends_the_same_bytes(shared: tuple[Path, Path, Path, Path]) -> None:
    _, whole, _, root = shared
    before = sha256_file(whole)
    catalog = Catalog({"whole": shared[0]})
    # The manifest the worker wrote names the prepared copy; a resumed upload reuses it.
    from uplink.protocol.evidence import EvidenceClip, build_manifest
    scope = Scope(root / "manifests", "req-1")
    (root / "manifests" / "req-1.json").write_bytes(build_manifest(
        request_id="req-1", case_number="CASE-7", agency_id="pd-1", device_id="porch-1",
        clips=[EvidenceClip("whole", WALL0, WALL0 + 8.8, whole.stat().st_size, before,
                            credentials=True)],
        key=Ed25519PrivateKey.generate(), kid="k", now=WALL0))
    resumed = scope.resumed(catalog.path)
    assert resumed is not None and resumed[0].path == whole
    assert sha256_file(resumed[0].path) == before and not resumed[0].cut


def test_without_a_usable_signer_the_clip_is_shared_without_credentials(
        made_kind: Callable[[str], Made], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    stored = made_kind(next(iter(KINDS)))[0][0]
    catalog = Catalog({"c": stored})
    broken = CredentialsKey(b"not a key", b"not a certificate")
    stamp = RequestCredentials(broken, device_id="porch-1", request_id="req-2",
                               case_number="", agency_id="pd-1")
    with caplog.at_level(logging.WARNING):
        item = Scope(tmp_path, "req-2").prepare([("c", catalog.info("c").sha256)], catalog,
                                                WindowCutter(), (WALL0 - 60, WALL0 + 60),
                                                stamp)[0]
    assert item.path == stored and not item.evidence.credentials
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob("*c2pa-tmp"))
    assert "shared without them" in caplog.text and "\n" not in caplog.records[-1].message


@pytest.mark.skipif(not SIGNING_SRC, reason="set DOORCAM_MEDIA_SIGNING_SRC to a checkout of "
                    "onvif/media-signing-framework to check clips with its validator")
def test_onvifs_validator_still_reads_a_shared_clip_valid(
        shared: tuple[Path, Path, Path, Path], tmp_path: Path,
        tmp_path_factory: pytest.TempPathFactory,
        made_kind: Callable[[str], Made]) -> None:
    # The clips were signed by the session's device key; its anchor is the trust anchor.
    anchor = made_kind(next(iter(KINDS)))[1]
    exe = build_validator(SIGNING_SRC, tmp_path_factory)
    for n, clip in enumerate(shared[1:3]):
        out = run_validator(exe, anchor, clip, tmp_path / str(n))
        assert "VIDEO IS VALID!" in out, out
