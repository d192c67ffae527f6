"""The clock statement in the evidence manifest, as the agency's check reads it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from uplink.agency.verify import verify_evidence
from uplink.protocol.evidence import ClockStatement, EvidenceClip, build_manifest
from uplink.protocol.keys import generate_keypair, sign_document

CLIP_ID = "20261128T120000Z-0123abcd"


@pytest.mark.parametrize(("clock", "problem"), [
    ({"synchronised": True, "max_error_ms": 5, "source": "ntp"}, None),  # unknown key: fine
    ({"synchronised": False, "max_error_ms": None}, None),
    ({"synchronised": "yes", "max_error_ms": 5}, "'synchronised'"),
    ({"synchronised": True, "max_error_ms": -1}, "'max_error_ms'"),
    ({"synchronised": True, "max_error_ms": True}, "'max_error_ms'"),
    ("synchronised", "not an object"),
])
def test_a_malformed_clock_statement_is_a_problem(tmp_path: Path, clock: Any,
                                                  problem: str | None) -> None:
    clip = tmp_path / f"{CLIP_ID}.mp4"
    clip.write_bytes(b"video" * 100)
    key = generate_keypair()[0]
    entry = EvidenceClip(CLIP_ID, 0, 10, 500, hashlib.sha256(clip.read_bytes()).hexdigest(),
                         clock=ClockStatement(True, 5))
    doc = json.loads(build_manifest(request_id="r", case_number="C", agency_id="pd",
                                    device_id="d", clips=[entry], key=key, kid="device-x",
                                    now=0))
    assert doc["clips"][0]["clock"] == {"synchronised": True, "max_error_ms": 5}
    doc["clips"][0]["clock"] = clock
    manifest = json.dumps(sign_document(doc, key, "device-x")).encode()
    report = verify_evidence(manifest, {CLIP_ID: clip})
    if problem is None:
        assert report.ok and report.verified_clips == (CLIP_ID,), report.problems
        assert report.clocks == {CLIP_ID: ClockStatement.from_json(clock)}
    else:
        assert not report.ok
        assert [p for p in report.problems if "clock" in p and problem in p], report.problems
