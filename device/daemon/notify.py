"""systemd notifications (READY, STATUS, WATCHDOG, STOPPING): systemd-python when it is
installed (Raspberry Pi OS: python3-systemd), else a datagram to $NOTIFY_SOCKET, else nothing."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable

log = logging.getLogger("doorcam")


def _stdlib_sender() -> Callable[[str], None] | None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return None
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace

    def send(message: str) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.connect(address)
            s.sendall(message.encode("utf-8"))

    return send


def _systemd_sender() -> Callable[[str], None] | None:
    if not os.environ.get("NOTIFY_SOCKET"):
        return None
    try:
        from systemd import daemon
    except ImportError:
        return None

    def send(message: str) -> None:
        daemon.notify(message)

    return send


class Notifier:
    """Tells systemd how the service is; every failure is logged once, never raised."""

    def __init__(self) -> None:
        self._send = _systemd_sender() or _stdlib_sender()
        usec = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        watched = usec.isdigit() and (not pid or pid == str(os.getpid()))
        self.watchdog_interval = int(usec) / 1e6 if watched else None
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self._send is not None

    def _notify(self, message: str) -> None:
        if self._send is None:
            return
        try:
            self._send(message)
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify systemd: %s", exc)
                self._warned = True

    def ready(self, status: str) -> None:
        self._notify(f"READY=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        self._notify(f"STATUS={status}")

    def watchdog(self) -> None:
        self._notify("WATCHDOG=1")

    def stopping(self) -> None:
        self._notify("STOPPING=1")
