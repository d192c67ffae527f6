"""A push service on 127.0.0.1 for tests: checks what a real one checks and plays the browser.

Each POST to an endpoint it handed out must carry `Content-Encoding: aes128gcm`, a TTL, a valid
Urgency and `Authorization: vapid t=<JWT>, k=<key>` whose ES256 signature verifies against `k`
with `aud` = this server's origin, `exp` in the next 24 hours and `sub` a mailto:/https: URI.
The body is then decrypted with the subscribing browser's private key. Anything wrong is
recorded in `problems` and answered 400. `answer` tells it to reply 201 (default), 410, 429 or
503 (both with Retry-After: 120), 500, redirect (307 elsewhere), or stay silent until the test
ends.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tests.web.push.browser import Browser


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Delivery:
    token: str
    headers: dict[str, str]
    message: dict[str, Any]
    claims: dict[str, Any]
    at: float = 0.0  # time.time() when it was received


@dataclass
class PushService:
    server: ThreadingHTTPServer = field(init=False)
    browsers: dict[str, Browser] = field(default_factory=dict)
    answer: dict[str, str] = field(default_factory=dict)  # token -> "201" "410" ... "silent"
    deliveries: list[Delivery] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    posts: int = 0
    elsewhere_hits: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                service.handle(self)

        # Bound and listening once constructed: connections queue until serve_forever runs.
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> PushService:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def subscribe(self, browser: Browser | None = None) -> tuple[Browser, dict[str, Any]]:
        """A new browser subscribed here: (browser, its PushSubscription JSON)."""
        browser = browser or Browser.new()
        token = secrets.token_urlsafe(12)
        self.browsers[token] = browser
        return browser, browser.subscription(f"{self.origin}/push/{token}")

    def token_of(self, subscription: dict[str, Any]) -> str:
        return str(subscription["endpoint"]).rsplit("/", 1)[1]

    def delivered_to(self, subscription: dict[str, Any]) -> list[dict[str, Any]]:
        token = self.token_of(subscription)
        return [d.message for d in self.deliveries if d.token == token]

    def wait_for(self, deliveries: int, timeout: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.deliveries) >= deliveries, timeout)

    # -- the server side ---------------------------------------------------------------
    def handle(self, req: BaseHTTPRequestHandler) -> None:
        body = req.rfile.read(int(req.headers.get("Content-Length") or 0))
        if not req.path.startswith("/push/"):
            self.elsewhere_hits += 1
            return self._reply(req, 201)
        token = req.path.rsplit("/", 1)[1]
        with self.changed:
            self.posts += 1
            self.changed.notify_all()
        how = self.answer.get(token, "201")
        if how == "silent":
            self.release.wait(30)
            return None
        if how == "redirect":
            req.send_response(307)
            req.send_header("Location", f"{self.origin}/elsewhere/{token}")
            req.send_header("Content-Length", "0")
            req.end_headers()
            return None
        if how != "201":
            extra = {"Retry-After": "120"} if how in ("429", "503") else {}
            return self._reply(req, int(how), b"nope", extra)
        try:
            delivery = self._check(token, dict(req.headers.items()), body)
        except (AssertionError, ValueError, KeyError, InvalidSignature) as exc:
            with self.changed:
                self.problems.append(f"{type(exc).__name__}: {exc}")
                self.changed.notify_all()
            return self._reply(req, 400, str(exc).encode())
        with self.changed:
            self.deliveries.append(delivery)
            self.changed.notify_all()
        return self._reply(req, 201, headers={"Location": f"{self.origin}/msg/{token}"})

    @staticmethod
    def _reply(req: BaseHTTPRequestHandler, status: int, body: bytes = b"",
               headers: dict[str, str] | None = None) -> None:
        req.send_response(status)
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def _check(self, token: str, headers: dict[str, str], body: bytes) -> Delivery:
        h = {k.lower(): v for k, v in headers.items()}
        browser = self.browsers[token]
        assert h.get("content-encoding") == "aes128gcm", h.get("content-encoding")
        assert h.get("ttl", "").isdigit(), f"TTL {h.get('ttl')!r}"
        assert h.get("urgency", "normal") in ("very-low", "low", "normal", "high")
        scheme, _, params = h["authorization"].partition(" ")
        assert scheme == "vapid", scheme
        fields = dict(p.strip().split("=", 1) for p in params.split(","))
        jwt, key = fields["t"], _unb64(fields["k"])
        head_b64, claims_b64, sig_b64 = jwt.split(".")
        assert json.loads(_unb64(head_b64)) == {"typ": "JWT", "alg": "ES256"}
        sig = _unb64(sig_b64)
        assert len(sig) == 64, "ES256 signatures are raw r || s"
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
        public.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                           int.from_bytes(sig[32:], "big")),
                      f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        claims = json.loads(_unb64(claims_b64))
        assert claims["aud"] == self.origin, claims
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600 + 5, claims
        assert str(claims.get("sub", "")).startswith(("mailto:", "https://")), claims
        message = json.loads(browser.decrypt(body))
        return Delivery(token, h, message, claims, time.time())
