"""Retry policy: Retry-After honoured, permanent answers stop at once, backoff jitter bounded."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.uplink.upload.conftest import LOOPBACK, Sleeps, dev_config, write_random
from tests.uplink.upload.netfaults import RawRequest, ScriptedServer, http_response, tus_script
from uplink.errors import PermanentUploadError, TransientUploadError
from uplink.upload.resume import ResumeState, SqliteResumeStore
from uplink.upload.retry import Backoff, RejectedStatus, RetryableStatus, parse_retry_after
from uplink.upload.tus import TusClient, UploadMetadata


@pytest.fixture
def clip(tmp_path: Path) -> tuple[Path, UploadMetadata]:
    src = tmp_path / "clip.mp4"
    return src, write_random(src, 50_000)


def test_retry_after_is_honoured_in_seconds_and_as_a_date(
        clip: tuple[Path, UploadMetadata], store: SqliteResumeStore,
        make_client: Callable[..., TusClient],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    src, meta = clip
    date = formatdate(time.time() + 40, usegmt=True)
    answers = {2: http_response(503, {"Retry-After": "7"}),
               3: http_response(429, {"Retry-After": date}),
               4: http_response(503, {"Retry-After": "999999"})}

    def busy(req: RawRequest, n: int) -> bytes | None:
        return answers.get(n) if req.method == "POST" else None

    server = make_scripted(tus_script(busy))
    sleeps = Sleeps()
    result = make_client(dev_config(), store, sleep=sleeps).upload_file(
        src, server.url, meta, "k", allowed_hosts=LOOPBACK)
    assert server.methods() == ["OPTIONS", "POST", "POST", "POST", "POST", "PATCH"]
    assert sleeps[0] == 7.0
    assert 37.0 <= sleeps[1] <= 40.0
    assert sleeps[2] == 300.0  # capped at backoff_max_s
    assert result.attempts == 4


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 415])
def test_permanent_answer_to_creation_stops_after_one_try(
        status: int, clip: tuple[Path, UploadMetadata], store: SqliteResumeStore,
        make_client: Callable[..., TusClient],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    src, meta = clip

    def refuse(req: RawRequest, n: int) -> bytes | None:
        return http_response(status, {"Retry-After": "1"}) if req.method == "POST" else None

    server = make_scripted(tus_script(refuse))
    sleeps = Sleeps()
    with pytest.raises(RejectedStatus) as info:
        make_client(dev_config(), store, sleep=sleeps).upload_file(
            src, server.url, meta, "k", allowed_hosts=LOOPBACK)
    assert info.value.status == status
    assert isinstance(info.value, PermanentUploadError)
    assert server.methods() == ["OPTIONS", "POST"] and sleeps == []


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_transient_answers_retry_up_to_max_attempts(
        status: int, clip: tuple[Path, UploadMetadata], store: SqliteResumeStore,
        make_client: Callable[..., TusClient],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    src, meta = clip

    def fail(req: RawRequest, n: int) -> bytes | None:
        return http_response(status) if req.method == "POST" else None

    server = make_scripted(tus_script(fail))
    sleeps = Sleeps()
    cfg = dev_config(max_attempts=4, backoff_base_s=2.0)
    with pytest.raises(RetryableStatus) as info:
        make_client(cfg, store, sleep=sleeps, rand=lambda: 1.0).upload_file(
            src, server.url, meta, "k", allowed_hosts=LOOPBACK)
    assert isinstance(info.value, TransientUploadError) and info.value.status == status
    assert server.methods().count("POST") == 4
    assert sleeps == [2.0, 4.0, 8.0]  # rand() = 1 shows each ceiling


def test_head_404_on_a_saved_upload_is_not_permanent(
        clip: tuple[Path, UploadMetadata], store: SqliteResumeStore,
        make_client: Callable[..., TusClient],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    src, meta = clip

    def forgotten(req: RawRequest, n: int) -> bytes | None:
        return http_response(404) if req.method == "HEAD" else None

    server = make_scripted(tus_script(forgotten))
    store.save("k", ResumeState(server.url + "old", 10, meta.sha256, 50_000))
    make_client(dev_config(), store).upload_file(src, server.url, meta, "k",
                                                 allowed_hosts=LOOPBACK)
    assert server.methods() == ["OPTIONS", "HEAD", "POST", "PATCH"]


@pytest.mark.parametrize("offset", ["50001", "-1", "1e3", "", "²"])
def test_nonsensical_head_offset_is_permanent(
        offset: str, clip: tuple[Path, UploadMetadata], store: SqliteResumeStore,
        make_client: Callable[..., TusClient],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    src, meta = clip

    def broken(req: RawRequest, n: int) -> bytes | None:
        if req.method != "HEAD":
            return None
        return http_response(200, {"Tus-Resumable": "1.0.0", "Upload-Offset": offset})

    server = make_scripted(tus_script(broken))
    store.save("k", ResumeState(server.url + "one", 10, meta.sha256, 50_000))
    with pytest.raises(PermanentUploadError, match=r"(?i)offset"):
        make_client(dev_config(), store).upload_file(src, server.url, meta, "k",
                                                     allowed_hosts=LOOPBACK)
    assert server.methods() == ["OPTIONS", "HEAD"]


def test_backoff_ceiling_doubles_then_caps() -> None:
    backoff = Backoff(dev_config(backoff_base_s=1.0, backoff_max_s=300.0), rand=lambda: 1.0)
    assert [backoff.delay(n) for n in range(1, 11)] == [
        1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert backoff.delay(10_000) == 300.0
    assert Backoff(dev_config(), rand=lambda: 0.0).delay(5) == 0.0


@given(failures=st.integers(1, 200), seed=st.integers(0, 2**32),
       base=st.floats(0.0, 600.0), cap=st.floats(0.0, 86400.0))
def test_full_jitter_stays_within_bounds(failures: int, seed: int, base: float,
                                         cap: float) -> None:
    backoff = Backoff(dev_config(backoff_base_s=base, backoff_max_s=cap),
                      rand=random.Random(seed).random)
    delay = backoff.delay(failures)
    assert 0.0 <= delay <= min(cap, base * 2.0 ** (failures - 1))


def test_jitter_spreads_over_the_whole_window() -> None:
    backoff = Backoff(dev_config(backoff_base_s=1.0), rand=random.Random(1).random)
    delays = [backoff.delay(4) for _ in range(2000)]
    assert max(delays) <= 8.0 and min(delays) >= 0.0
    assert min(delays) < 0.5 and max(delays) > 7.5  # full jitter, not "equal" jitter


def test_retry_after_parsing() -> None:
    now = time.time()
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(formatdate(now - 60, usegmt=True), now) == 0.0
    assert parse_retry_after(formatdate(now + 60, usegmt=True), now) == pytest.approx(60, abs=1)
    for junk in (None, "", "soon", "-5", "1.5", "²"):
        assert parse_retry_after(junk, now) is None


@pytest.mark.timeout(30)
@pytest.mark.parametrize("reported, error", [
    (0, TransientUploadError),        # accepted nothing: retried, but not forever
    (50_001, PermanentUploadError),   # more than was sent
])
def test_patch_offset_must_advance_within_the_chunk(
        reported: int, error: type[Exception], clip: tuple[Path, UploadMetadata],
        store: SqliteResumeStore, make_client: Callable[..., TusClient],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    src, meta = clip

    def stuck(req: RawRequest, n: int) -> bytes | None:
        if req.method != "PATCH":
            return None
        return http_response(204, {"Tus-Resumable": "1.0.0", "Upload-Offset": str(reported)})

    server = make_scripted(tus_script(stuck))
    with pytest.raises(error):
        make_client(dev_config(max_attempts=3), store).upload_file(
            src, server.url, meta, "k", allowed_hosts=LOOPBACK)
    assert server.methods().count("PATCH") == (3 if reported == 0 else 1)


def test_offset_conflict_resyncs_with_head(
        clip: tuple[Path, UploadMetadata], store: SqliteResumeStore,
        make_client: Callable[..., TusClient],
        make_scripted: Callable[..., ScriptedServer]) -> None:
    src, meta = clip

    def conflict_once(req: RawRequest, n: int) -> bytes | None:
        return http_response(409) if req.method == "PATCH" and n == 3 else None

    server = make_scripted(tus_script(conflict_once))
    sleeps = Sleeps()
    result = make_client(dev_config(), store, sleep=sleeps).upload_file(
        src, server.url, meta, "k", allowed_hosts=LOOPBACK)
    assert server.methods() == ["OPTIONS", "POST", "PATCH", "HEAD", "PATCH"]
    assert result.attempts == 2 and len(sleeps) == 1
