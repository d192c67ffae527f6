"""The HTTP side of the reference tus receiver: one handler per request, and its records."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

TUS_VERSION = "1.0.0"
BASE = "/files/"
MAX_CHECKSUMMED_BODY = 64 << 20  # a checksummed PATCH is held in memory until verified
_ID = re.compile(r"^/files/([0-9a-f]{32})$")
_RECEIPT = re.compile(r"^/files/receipt/([0-9a-f-]{36})$")


@dataclass
class Upload:
    """One upload's declared length, metadata and progress; `path` holds the bytes."""

    length: int
    metadata: dict[str, str]
    path: Path
    offset: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    verified: bool | None = None  # sha256 of the complete file == metadata sha256


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body_bytes: int



class ReceiverState(Protocol):
    """What the HTTP handler needs of the receiver that owns the uploads."""

    ssl_context: ssl.SSLContext | None
    checksum: bool
    max_size: int

    def upload(self, upload_id: str) -> Upload | None: ...
    def record(self, entry: LoggedRequest) -> None: ...
    def count_patch_bytes(self, n: int) -> None: ...
    def count_connection(self) -> None: ...
    def count_error(self) -> None: ...
    def create(self, length: int, metadata: dict[str, str]) -> str: ...
    def finish(self, upload: Upload) -> None: ...
    def receipt(self, request_id: str) -> bytes | None: ...


class ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: ReceiverState

    def process_request(self, request: Any, client_address: Any) -> None:
        self.receiver.count_connection()
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A failed TLS handshake or a client that vanished: counted, not printed.
        self.receiver.count_error()


def parse_metadata(value: str) -> dict[str, str]:
    """Decode an Upload-Metadata header; raises ValueError when malformed."""
    out: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in value.split(","))):
        key, _, b64 = pair.partition(" ")
        try:
            out[key] = base64.b64decode(b64, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError(f"bad metadata value for {key!r}") from exc
    return out


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "doorcam-receiver/1"
    timeout = 30
    server: ReceiverServer

    def setup(self) -> None:
        ctx = self.server.receiver.ssl_context
        if ctx is not None:
            self.request = ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is `TusReceiver.log`

    @property
    def rx(self) -> ReceiverState:
        return self.server.receiver

    def _reply(self, status: int, headers: dict[str, str] | None = None,
               body: bytes = b"", close: bool = False) -> None:
        self.send_response(status)
        for k, v in {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store",
                     **(headers or {})}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if close:  # the request body was not read, so the connection cannot be reused
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def _log(self, body_bytes: int = 0) -> None:
        self.rx.record(LoggedRequest(self.command, self.path, dict(self.headers.items()),
                                     body_bytes))

    def _version_ok(self) -> bool:
        if self.headers.get("Tus-Resumable") == TUS_VERSION:
            return True
        self._reply(412, {"Tus-Version": TUS_VERSION}, close=True)
        return False

    def _upload(self) -> Upload | None:
        match = _ID.match(self.path)
        upload = self.rx.upload(match.group(1)) if match else None
        if upload is None:
            self._reply(404, close=True)
        return upload

    def do_OPTIONS(self) -> None:
        self._log()
        ext = "creation,checksum" if self.rx.checksum else "creation"
        headers = {"Tus-Version": TUS_VERSION, "Tus-Extension": ext,
                   "Tus-Max-Size": str(self.rx.max_size)}
        if self.rx.checksum:
            headers["Tus-Checksum-Algorithm"] = "sha256"
        self._reply(204, headers)

    def do_POST(self) -> None:
        self._log()
        if not self._version_ok():
            return
        if self.path.rstrip("/") != BASE.rstrip("/") or self.headers.get("Content-Length",
                                                                         "0") != "0":
            self._reply(400, body=b"creation-with-upload not supported", close=True)
            return
        raw = self.headers.get("Upload-Length", "")
        if not (raw.isascii() and raw.isdigit()):
            self._reply(400, body=b"Upload-Length required")
            return
        if int(raw) > self.rx.max_size:
            self._reply(413)
            return
        try:
            metadata = parse_metadata(self.headers.get("Upload-Metadata", ""))
        except ValueError as exc:
            self._reply(400, body=str(exc).encode())
            return
        upload_id = self.rx.create(int(raw), metadata)
        self._reply(201, {"Location": BASE + upload_id})  # relative, as tus allows

    def do_GET(self) -> None:
        self._log()
        match = _RECEIPT.match(self.path)
        receipt = self.rx.receipt(match.group(1)) if match else None
        if receipt is None:
            self._reply(404)
            return
        self._reply(200, {"Content-Type": "application/json"}, receipt)

    def do_HEAD(self) -> None:
        self._log()
        if not self._version_ok() or (upload := self._upload()) is None:
            return
        self._reply(200, {"Upload-Offset": str(upload.offset),
                          "Upload-Length": str(upload.length)})

    def do_PATCH(self) -> None:
        if not self._version_ok() or (upload := self._upload()) is None:
            self._log()
            return
        if self.headers.get("Content-Type") != "application/offset+octet-stream":
            self._log()
            self._reply(415, close=True)
            return
        if not upload.lock.acquire(timeout=10):
            self._log()
            self._reply(423, close=True)
            return
        try:
            self._patch(upload)
        finally:
            upload.lock.release()

    def _patch(self, upload: Upload) -> None:
        raw_offset = self.headers.get("Upload-Offset", "")
        raw_length = self.headers.get("Content-Length", "")
        if not all(v.isascii() and v.isdigit() for v in (raw_offset, raw_length)):
            self._log()
            self._reply(400, close=True)
            return
        offset, length = int(raw_offset), int(raw_length)
        if offset != upload.offset:
            self._log()
            self._reply(409, {"Upload-Offset": str(upload.offset)}, close=True)
            return
        if offset + length > upload.length:
            self._log()
            self._reply(400, body=b"beyond Upload-Length", close=True)
            return
        checksum = self.headers.get("Upload-Checksum")
        if checksum is not None:
            received = self._patch_checksummed(upload, checksum, length)
        else:
            received = self._patch_streamed(upload, length)
        if received is None:
            return
        if upload.offset == upload.length:
            self.rx.finish(upload)
        self._reply(204, {"Upload-Offset": str(upload.offset)})

    def _patch_checksummed(self, upload: Upload, checksum: str, length: int) -> int | None:
        algorithm, _, expected = checksum.partition(" ")
        if algorithm != "sha256" or length > MAX_CHECKSUMMED_BODY:
            self._log()
            self._reply(400, body=b"unsupported checksum", close=True)
            return None
        data = self._read(length)
        self._log(len(data))
        if len(data) < length:
            return None  # the client went away; unverifiable bytes are not kept
        if base64.b64encode(hashlib.sha256(data).digest()).decode() != expected.strip():
            self._reply(460, body=b"Checksum Mismatch")
            return None
        with upload.path.open("r+b") as f:
            f.seek(upload.offset)
            f.write(data)
        upload.offset += len(data)
        return len(data)

    def _patch_streamed(self, upload: Upload, length: int) -> int | None:
        # Without a checksum, bytes that arrived before a cut are kept: that is what makes
        # the upload resumable from the middle of a PATCH.
        done = 0
        with upload.path.open("r+b") as f:
            f.seek(upload.offset)
            while done < length:
                block = self._read(min(1 << 16, length - done), partial=True)
                if not block:
                    break
                f.write(block)
                f.flush()
                done += len(block)
                upload.offset += len(block)
        self._log(done)
        return done if done == length else None

    def _read(self, n: int, partial: bool = False) -> bytes:
        chunks: list[bytes] = []
        got = 0
        while got < n:
            try:
                block = self.rfile.read1(n - got)
            except (TimeoutError, OSError):
                block = b""
            if not block:
                break
            chunks.append(block)
            got += len(block)
            self.rx.count_patch_bytes(len(block))
            if partial:
                break
        return b"".join(chunks)
