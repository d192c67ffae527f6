"""A tus 1.0 client (core, creation, checksum) that resumes, retries and never follows."""

from __future__ import annotations

import base64
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from common import sha256_file_and_size
from common.httpseam import Response, Transport
from config.upload import UploadConfig
from uplink.errors import PermanentUploadError, TransientUploadError
from uplink.upload.resume import ResumeState, ResumeStore
from uplink.upload.retry import Backoff, UploadCancelled, UploadGone, check_status
from uplink.upload.urls import check_url, destination, resolve_location

TUS_VERSION = "1.0.0"
OK = frozenset({200, 204})
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadMetadata:
    """What the agency is told about the clip; `sha256` is the clip store's hex digest."""

    filename: str
    sha256: str
    request_id: str
    clip_id: str
    filetype: str = "video/mp4"  # uppy/tus-js-client send it; some servers require it

    def header(self) -> str:
        """The Upload-Metadata value: comma-separated `key base64(value)` pairs."""
        pairs = {"filename": self.filename, "filetype": self.filetype,
                 "sha256": self.sha256.lower(),
                 "request_id": self.request_id, "clip_id": self.clip_id}
        return ",".join(f"{k} {base64.b64encode(v.encode()).decode('ascii')}"
                        for k, v in pairs.items())


@dataclass(frozen=True)
class UploadResult:
    """A finished upload. `attempts` is 1 + the number of failed calls that were retried."""

    url: str
    size: int
    sha256: str
    attempts: int
    resumed_from: int
    offset_regressions: int = 0


class TusClient:
    """Uploads files over a `Transport`, remembering progress in a `ResumeStore`."""

    def __init__(
        self, transport: Transport, cfg: UploadConfig, store: ResumeStore, *,
        sleep: Callable[[float], None] | None = None,
        rand: Callable[[], float] = random.random,
        on_offset: Callable[[int], None] | None = None,
    ) -> None:
        self.transport = transport
        self.cfg = cfg
        self.store = store
        self.backoff = Backoff(cfg, rand=rand)
        self._sleep = sleep
        self.on_offset = on_offset

    def upload_file(
        self, path: Path, endpoint_url: str, metadata: UploadMetadata, key: str, *,
        allowed_hosts: frozenset[str], cancel: threading.Event | None = None,
    ) -> UploadResult:
        """Upload `path` to a tus endpoint, resuming the upload saved under `key` if any.

        Raises DestinationRefused (nothing sent), PermanentUploadError, TransientUploadError
        (after max_attempts consecutive failures; progress is kept) or UploadCancelled.
        """
        check_url(endpoint_url, allowed_hosts=allowed_hosts,
                  allow_insecure_loopback=self.cfg.allow_insecure_loopback)
        digest, size = sha256_file_and_size(path)
        if digest != metadata.sha256.strip().lower():
            raise PermanentUploadError(
                f"{path.name}: sha256 {digest} does not match the clip store's "
                f"{metadata.sha256}; nothing sent")
        return _Run(self, path, endpoint_url, metadata, key, size, digest, cancel).go()

    def wait(self, seconds: float, cancel: threading.Event | None) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif cancel is not None:
            cancel.wait(seconds)
        else:
            time.sleep(seconds)


class _Run:
    """One call of `upload_file`: a small state machine, one HTTP call per step."""

    def __init__(self, client: TusClient, path: Path, endpoint: str, meta: UploadMetadata,
                 key: str, size: int, digest: str, cancel: threading.Event | None) -> None:
        self.c, self.path, self.endpoint, self.meta = client, path, endpoint, meta
        self.key, self.size, self.digest, self.cancel = key, size, digest, cancel
        self.checksum: bool | None = None  # unknown until OPTIONS answered
        self.url: str | None = None
        self.offset = 0
        self.best = -1  # highest offset the server confirmed in this run
        self.need_head = False
        self.failures = 0
        self.retries = 0
        self.regressions = 0
        self.resumed_from: int | None = None

    def go(self) -> UploadResult:
        self._load()
        while True:
            if self.cancel is not None and self.cancel.is_set():
                raise UploadCancelled(f"{self.path.name}: cancelled at offset {self.offset}")
            try:
                if self.checksum is None:
                    self._discover()
                elif self.url is None:
                    self._create()
                elif self.need_head:
                    self._head()
                elif self.offset < self.size:
                    self._patch()
                else:
                    break
            except UploadGone as exc:
                log.warning("%s: server forgot the upload (%s); starting a new one", self.key, exc)
                self.c.store.clear(self.key)
                self.url, self.offset, self.need_head = None, 0, False
                self._failed(exc, wait=False)
            except TransientUploadError as exc:
                self.need_head = self.url is not None  # learn what the server really has
                self._failed(exc, wait=True)
        self.c.store.clear(self.key)
        assert self.url is not None
        return UploadResult(self.url, self.size, self.digest, self.retries + 1,
                            self.resumed_from or 0, self.regressions)

    def _failed(self, exc: Exception, *, wait: bool) -> None:
        self.failures += 1
        self.retries += 1
        if self.failures >= self.c.cfg.max_attempts:
            log.warning("%s: giving up after %d failed calls: %s", self.key, self.failures, exc)
            raise exc
        if wait:
            delay = self.c.backoff.delay(self.failures, getattr(exc, "retry_after", None))
            log.info("%s: %s; retry %d in %.1f s", self.key, exc, self.failures, delay)
            self.c.wait(delay, self.cancel)

    def _load(self) -> None:
        state = self.c.store.load(self.key)
        if state is None:
            return
        try:
            same_origin = destination(state.url) == destination(self.endpoint)
        except PermanentUploadError:
            same_origin = False
        if (state.sha256, state.size) != (self.digest, self.size) or not same_origin:
            log.warning("%s: saved upload is for another file or server; starting anew", self.key)
            self.c.store.clear(self.key)
            return
        self.url, self.offset, self.need_head = state.url, state.offset, True

    def _call(self, method: str, url: str, extra: dict[str, str],
              body: bytes | None = None) -> Response:
        headers = {"Tus-Resumable": TUS_VERSION, **extra}
        deadline = time.monotonic() + self.c.cfg.call_deadline_s
        return self.c.transport.request(method, url, headers, body, deadline)

    def _discover(self) -> None:
        resp = self._call("OPTIONS", self.endpoint, {})
        check_status(resp, OK, f"OPTIONS {self.endpoint}")
        versions = _tokens(resp.headers.get("Tus-Version"))
        if versions and TUS_VERSION not in versions:
            raise PermanentUploadError(f"server speaks tus {sorted(versions)}, not {TUS_VERSION}")
        extensions = _tokens(resp.headers.get("Tus-Extension"))
        if "creation" not in extensions:
            raise PermanentUploadError("server does not offer the tus creation extension")
        algorithms = _tokens(resp.headers.get("Tus-Checksum-Algorithm"))
        self.checksum = "checksum" in extensions and "sha256" in algorithms

    def _create(self) -> None:
        resp = self._call("POST", self.endpoint, {
            "Upload-Length": str(self.size), "Upload-Metadata": self.meta.header()}, b"")
        check_status(resp, frozenset({201}), f"POST {self.endpoint}")
        location = resp.headers.get("Location")
        if not location:
            raise PermanentUploadError(f"POST {self.endpoint}: 201 without a Location")
        self.url = resolve_location(self.endpoint, location)
        self.offset = 0
        self._confirmed(0)
        log.info("%s: created %s for %d bytes", self.key, self.url, self.size)

    def _head(self) -> None:
        assert self.url is not None
        resp = self._call("HEAD", self.url, {})
        check_status(resp, OK, f"HEAD {self.url}", known_url=True)
        length = resp.headers.get("Upload-Length")
        if length is not None and _number(length, f"HEAD {self.url}: Upload-Length") != self.size:
            raise PermanentUploadError(f"HEAD {self.url}: Upload-Length {length} != {self.size}")
        server = _number(resp.headers.get("Upload-Offset"), f"HEAD {self.url}: Upload-Offset")
        if server > self.size:
            raise PermanentUploadError(f"HEAD {self.url}: offset {server} > size {self.size}")
        if server < self.offset:
            # The server is the source of truth for what it holds; resend from there.
            self.regressions += 1
            log.warning("%s: server offset %d < ours %d; resending from %d",
                        self.key, server, self.offset, server)
        self.offset = server
        self.need_head = False
        if self.resumed_from is None:
            self.resumed_from = server
        self._confirmed(server)

    def _patch(self) -> None:
        assert self.url is not None
        want = min(self.c.cfg.chunk_mb << 20, self.size - self.offset)
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read(want)
        if len(data) != want:
            raise PermanentUploadError(f"{self.path.name} shrank while uploading")
        headers = {"Upload-Offset": str(self.offset),
                   "Content-Type": "application/offset+octet-stream"}
        if self.checksum:
            digest = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
            headers["Upload-Checksum"] = f"sha256 {digest}"
        what = f"PATCH {self.url} @{self.offset}"
        resp = self._call("PATCH", self.url, headers, data)
        check_status(resp, OK, what, known_url=True)
        new = _number(resp.headers.get("Upload-Offset"), f"{what}: Upload-Offset")
        if new < self.offset or new > self.offset + len(data):
            raise PermanentUploadError(f"{what}: server reports nonsensical offset {new}")
        if new == self.offset:
            raise TransientUploadError(f"{what}: server accepted no bytes")
        self.offset = new
        self._confirmed(new)

    def _confirmed(self, offset: int) -> None:
        assert self.url is not None
        self.c.store.save(self.key, ResumeState(self.url, offset, self.digest, self.size))
        if offset > self.best:
            self.best = offset
            self.failures = 0  # only new ground resets the count, so no loop is endless
        if self.c.on_offset is not None:
            self.c.on_offset(offset)


def _tokens(value: str | None) -> frozenset[str]:
    return frozenset(t.strip().lower() for t in (value or "").split(",") if t.strip())


def _number(value: str | None, what: str) -> int:
    """A non-negative decimal header value; anything else is a broken server."""
    if value is None or not (v := value.strip()).isascii() or not v.isdigit() or len(v) > 19:
        raise PermanentUploadError(f"{what} missing or not a number: {value!r}")
    return int(value.strip())
