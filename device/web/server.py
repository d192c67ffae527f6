"""Run the app under uvicorn on one socket we bind ourselves (so port 0 works)."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
from pathlib import Path

from config import Config
from device.errors import EXIT_FAILURE, UserError
from device.web import tls
from device.web.app import create_app
from device.web.context import WebContext, WebPaths
from device.web.guard import (
    Connections,
    Limits,
    ListeningSocket,
    protocol,
    quiet_invalid_requests,
)
from device.web.pages.live import end_live_views
from device.web.sources import proxies
from device.web.uvicorn_parts import Config as ServerConfig
from device.web.uvicorn_parts import Server

log = logging.getLogger("doorcam.web")


class _Server(Server):
    def __init__(self, config: ServerConfig, ready_line: str) -> None:
        super().__init__(config)
        self.ready_line = ready_line

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            log.info("%s", self.ready_line)
        c = self.config
        if self.started and c.ssl is not None and c.ssl_certfile and c.ssl_keyfile:
            self.following = asyncio.create_task(tls.follow(
                c.ssl, Path(str(c.ssl_certfile)), Path(str(c.ssl_keyfile))))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        # Here, not after run(): uvicorn ends the process with the signal it stopped for.
        end_live_views(self.config.app)


def _bind(host: str, port: int) -> ListeningSocket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = ListeningSocket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                        EXIT_FAILURE) from None
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def serve(cfg: Config, host: str, port: int, *, fingerprint: str | None,
          addresses: list[str] | None = None) -> int:
    ctx = WebContext(cfg)
    paths = WebPaths.of(cfg)
    tls = fingerprint is not None
    sock = _bind(host, port)
    limits = Limits.of(cfg.web)
    connections = Connections(limits, proxies(tuple(cfg.web.trusted_proxies)))
    sock.connections = connections
    bound = sock.getsockname()[1]
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    ready = f"serving {scheme}://{shown}:{bound}/"
    if fingerprint:
        ready += f" (certificate SHA-256 {fingerprint})"
        log.info("certificate SHA-256 fingerprint: %s", fingerprint)
    if addresses:
        shown_at = [a.replace(f":{port}/", f":{bound}/") for a in addresses]
        log.info("open %s on your phone or computer", " or ".join(shown_at))
    with ctx.accounts() as acc:
        if not acc.names():
            log.warning("no accounts yet: add one with `doorcam web adduser NAME`")
    # Every request checks its login in the accounts database through a connection of its
    # own. When the last connection to a WAL database closes, SQLite drops its shared-memory
    # index and the next open writes it again: 33 kB to the disk or SD card per request, and
    # a live viewer makes two requests a second. This idle connection, held (and used for
    # nothing) by this thread for the life of the process, keeps the index.
    keep = sqlite3.connect(paths.accounts)
    keep.execute("SELECT count(*) FROM sqlite_master").fetchall()
    app = create_app(ctx, tls=tls)
    quiet_invalid_requests()
    config = ServerConfig(
        app, log_config=None, access_log=False, server_header=False,
        proxy_headers=False, lifespan="off", timeout_graceful_shutdown=2, ws="none",
        http=protocol(connections), loop="asyncio", timeout_keep_alive=limits.idle_s,
        ssl_certfile=str(paths.cert) if tls else None,
        ssl_keyfile=str(paths.key) if tls else None)
    server = _Server(config, ready)
    pusher = None
    if cfg.push.enabled:
        from device.web.notify import PushThread
        from device.web.push import PushConfigError

        paths.push.mkdir(mode=0o700, parents=True, exist_ok=True)
        from device.wiring.paths import DevicePaths

        pusher = PushThread(ctx.push, paths.desk, paths.root, DevicePaths.of(cfg).rings)
        try:
            pusher.start()
        except PushConfigError as exc:
            sock.close()
            keep.close()
            raise UserError(str(exc)) from None
    try:
        server.run(sockets=[sock])
    finally:
        if pusher is not None:
            pusher.stop()
        sock.close()
        keep.close()
    return 0
