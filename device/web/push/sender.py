"""One push to one subscription (RFC 8030 §5): encrypt, sign, POST, classify the answer.

The HTTP call goes through a `Transport` (the uploader's seam; push's own standard-library
one in `transport.py`): one total deadline however slowly the push service answers, no
redirects followed, no proxies or other settings from the environment, TLS verified against
the system's CAs, and only to a push service the `EndpointPolicy` allows, at an address it
allows (see endpoints.py). Outcomes:

    2xx (201 Created)   delivered: `send` returns
    404, 410            SubscriptionGone: the caller drops the subscription
    413                 PayloadTooLarge
    429                 RateLimited        } with the service's Retry-After, if any
    5xx                 PushServiceError   }
    other 4xx           SubscriptionRefused
    not a push service  EndpointNotAllowed (before any lookup: the caller drops it)
    3xx, special address DestinationRefused (the redirect is never followed; the address
                        is refused before any connection)
    no answer in time   Unreachable

Errors name the push service's origin only: an endpoint URL is a capability to push to the
owner's browser and stays out of logs.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from common.httpseam import Response, Transport
from device.web.push.crypto import encrypt
from device.web.push.endpoints import EndpointPolicy
from device.web.push.errors import (
    DeliveryError,
    DestinationRefused,
    EndpointNotAllowed,
    PayloadTooLarge,
    PushServiceError,
    RateLimited,
    SubscriptionGone,
    SubscriptionRefused,
    Unreachable,
)
from device.web.push.transport import StdlibTransport
from device.web.push.vapid import VapidKey, audience
from uplink.errors import DestinationRefused as TransportRefused
from uplink.errors import UplinkError

CALL_DEADLINE_S = 10.0
URGENCIES = ("very-low", "low", "normal", "high")  # RFC 8030 §5.3
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")  # RFC 8030 §5.4


@dataclass(frozen=True)
class Target:
    """Where one push goes: a subscription's endpoint and keys."""

    endpoint: str
    p256dh: bytes
    auth: bytes


def default_transport(policy: EndpointPolicy, deadline_s: float = CALL_DEADLINE_S
                      ) -> Transport:
    """The standard-library transport, configured for push services."""
    return StdlibTransport(policy, connect_timeout_s=min(5.0, deadline_s))


class PushSender:
    """Sends pushes signed with the device's VAPID key; one caller thread at a time.
    Every endpoint is checked against `policy` before anything else, whatever the transport
    (the standard one checks the addresses too)."""

    def __init__(self, vapid: VapidKey, contact: str, policy: EndpointPolicy,
                 transport: Transport | None = None, *,
                 deadline_s: float = CALL_DEADLINE_S,
                 wall: Callable[[], float] = time.time) -> None:
        self.vapid = vapid
        self.contact = contact
        self.policy = policy
        self.deadline_s = deadline_s
        self._transport = transport or default_transport(policy, deadline_s)
        self._wall = wall

    def close(self) -> None:
        self._transport.close()

    def send(self, target: Target, payload: bytes, *, ttl: int, urgency: str = "normal",
             topic: str | None = None) -> None:
        """Deliver `payload` or raise a `DeliveryError` saying why not."""
        if urgency not in URGENCIES:
            raise ValueError(f"urgency must be one of {URGENCIES}")
        if topic is not None and not _TOPIC.fullmatch(topic):
            raise ValueError("topic must be 1-32 characters of A-Z a-z 0-9 - _")
        if ttl < 0:
            raise ValueError("ttl must be >= 0")
        try:
            where = audience(target.endpoint)
        except ValueError as exc:
            raise EndpointNotAllowed(f"push endpoint refused: {exc}") from None
        why = self.policy.refusal(target.endpoint)
        if why is not None:
            raise EndpointNotAllowed(f"{where}: {why}")
        body = encrypt(payload, target.p256dh, target.auth)
        headers = {
            "Authorization": self.vapid.authorization(target.endpoint, self.contact,
                                                      self._wall()),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(int(ttl)),
            "Urgency": urgency,
            "User-Agent": "doorcam-push/1",
        }
        if topic is not None:
            headers["Topic"] = topic
        deadline = time.monotonic() + self.deadline_s
        try:
            response = self._transport.request("POST", target.endpoint, headers, body, deadline)
        except TransportRefused as exc:
            raise DestinationRefused(_scrub(str(exc), target.endpoint, where)) from None
        except UplinkError as exc:  # DeadlineExceeded, TransientUploadError
            raise Unreachable(_scrub(str(exc), target.endpoint, where)) from None
        _classify(response, where)


def _classify(response: Response, where: str) -> None:
    status = response.status
    said = _reason(response)
    if 200 <= status < 300:
        return
    if status in (404, 410):
        raise SubscriptionGone(f"{where}: subscription gone ({status}){said}", status)
    if status == 413:
        raise PayloadTooLarge(f"{where}: payload too large (413){said}", status)
    if status == 429:
        raise RateLimited(f"{where}: too many pushes (429){said}", status,
                          retry_after(response.headers.get("Retry-After")))
    if 400 <= status < 500:
        raise SubscriptionRefused(f"{where}: push refused ({status}){said}", status)
    if status >= 500:
        raise PushServiceError(f"{where}: push service failed ({status}){said}", status,
                               retry_after(response.headers.get("Retry-After")))
    raise DeliveryError(f"{where}: unexpected answer {status}{said}", status)


def _reason(response: Response) -> str:
    text = response.body[:200].decode("utf-8", "replace")
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    return f": {text}" if text else ""


def _scrub(message: str, endpoint: str, where: str) -> str:
    """The message without the endpoint's path and query (HTTP libraries quote them)."""
    parts = urlsplit(endpoint)
    message = message.replace(endpoint, f"{where}/…")
    for secret in (f"{parts.path}?{parts.query}", parts.query, parts.path):
        if len(secret) > 1:
            message = message.replace(secret, "/…")
    return message


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 86400))
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, min(when - (time.time() if now is None else now), 86400.0))
