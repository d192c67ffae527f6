"""A reference tus 1.0 receiver (core, creation, checksum sha256) for tests and agencies.

It stores each upload as a file in one directory and records every connection and request,
so tests can assert that no connection was made where none may be.
"""

from __future__ import annotations

import ssl
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common import sha256_file
from uplink.agency.receiver_http import (
    BASE,
    LoggedRequest,
    ReceiverServer,
    Upload,
    _Handler,
    parse_metadata,
)
from uplink.protocol.receipt import ReceivedFile, build_receipt

__all__ = ["LoggedRequest", "TusReceiver", "Upload", "parse_metadata"]


class TusReceiver:
    """A threaded tus server on `host`:`port` (0 = any free port), TLS if given a context."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 0, *,
                 checksum: bool = True, max_size: int = 1 << 34,
                 ssl_context: ssl.SSLContext | None = None,
                 on_complete: Callable[[Upload], None] | None = None,
                 receipt_key: Ed25519PrivateKey | None = None, receipt_kid: str = "",
                 clock: Callable[[], float] = time.time) -> None:
        self.directory = Path(directory)
        # Signs receipts of what arrived (GET /files/receipt/<request id>); None: no receipts.
        self.receipt_key, self.receipt_kid, self.clock = receipt_key, receipt_kid, clock
        self.on_complete = on_complete  # called once per upload whose last byte arrived
        self.directory.mkdir(parents=True, exist_ok=True)
        self.checksum = checksum
        self.max_size = max_size
        self.ssl_context = ssl_context
        self.uploads: dict[str, Upload] = {}
        self.log: list[LoggedRequest] = []
        self.connections = 0
        self.errors = 0
        self.patch_bytes = 0  # body bytes received by PATCH, partial ones included
        self._lock = threading.Lock()
        self._server = ReceiverServer((host, port), _Handler)
        self._server.receiver = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The creation endpoint, e.g. http://127.0.0.1:PORT/files/."""
        host, port = self._server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{host}:{port}{BASE}"

    def start(self) -> TusReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def expire(self, upload_id: str) -> None:
        """Forget an upload, as a server does when it expires one (HEAD then says 404)."""
        with self._lock:
            self.uploads.pop(upload_id, None)

    def completed(self) -> dict[str, Upload]:
        """Uploads whose every byte has arrived."""
        with self._lock:
            return {k: u for k, u in self.uploads.items() if u.offset == u.length}

    def upload(self, upload_id: str) -> Upload | None:
        with self._lock:
            return self.uploads.get(upload_id)

    def count_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def count_error(self) -> None:
        with self._lock:
            self.errors += 1

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.log.append(entry)

    def count_patch_bytes(self, n: int) -> None:
        with self._lock:
            self.patch_bytes += n

    def create(self, length: int, metadata: dict[str, str]) -> str:
        upload_id = uuid.uuid4().hex
        path = self.directory / upload_id
        path.write_bytes(b"")
        upload = Upload(length, metadata, path)
        if length == 0:
            self.finish(upload)
        with self._lock:
            self.uploads[upload_id] = upload
        return upload_id

    def finish(self, upload: Upload) -> None:
        digest = sha256_file(upload.path)
        upload.verified = digest == upload.metadata.get("sha256", "").lower()
        if self.on_complete is not None:
            self.on_complete(upload)

    def receipt(self, request_id: str) -> bytes | None:
        """A signed receipt of every file of the request that arrived whole and matched its
        announced SHA-256 (hashed again here, from the bytes on disk)."""
        if self.receipt_key is None:
            return None
        with self._lock:
            done = [u for u in self.uploads.values() if u.offset == u.length
                    and u.verified and u.metadata.get("request_id") == request_id]
        if not done:
            return None
        files = [ReceivedFile(sha256_file(u.path), u.length) for u in done]
        return build_receipt(request_id=request_id, files=files, key=self.receipt_key,
                             kid=self.receipt_kid, now=self.clock())
