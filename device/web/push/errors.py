"""Every exception the push package raises on purpose, in one tree.

    PushError
    ├── InvalidSubscription        a browser's subscription JSON is refused (message says why)
    ├── ChangeRefused              a renewed subscription without a valid change token
    ├── PushConfigError            push is enabled but cannot work (e.g. no contact)
    └── DeliveryError              one push was not delivered; `status` is the HTTP status or 0
        ├── SubscriptionGone       404/410: the browser unsubscribed; drop the subscription
        ├── SubscriptionRefused    400/401/403/other 4xx: this push will never be accepted
        ├── PayloadTooLarge        413: the encrypted message is over the service's limit
        ├── DestinationRefused     a redirect, or a name that resolved to an address the
        │   │                      device never connects to (loopback, private, ...)
        │   └── EndpointNotAllowed not a push service the config allows: drop the subscription
        └── RetryLater             a later attempt may succeed; `retry_after` seconds when the
            │                      push service said (Retry-After on a 429 or 5xx)
            ├── RateLimited        429
            ├── PushServiceError   5xx
            └── Unreachable        no connection, TLS failure, or the total deadline passed

Callers catch `PushError`; anything else escaping is a bug.
"""

from __future__ import annotations


class PushError(Exception):
    """Base of every error raised on purpose by `device.web.push`."""


class InvalidSubscription(PushError, ValueError):
    """The subscription a browser sent cannot be stored; the message is for the owner."""


class ChangeRefused(PushError):
    """A subscription change whose old endpoint, account or change token does not match."""


class PushConfigError(PushError):
    """The [push] section does not allow sending (the message names the setting)."""


class DeliveryError(PushError):
    """A push was not delivered. `status` is the push service's HTTP status (0: none)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class SubscriptionGone(DeliveryError):
    """404 or 410: the subscription expired or the browser unsubscribed (RFC 8030 §7.3)."""


class SubscriptionRefused(DeliveryError):
    """A 4xx other than 404/410/413/429: e.g. a VAPID key the subscription was not made for."""


class PayloadTooLarge(DeliveryError):
    """413: the push service refuses a message this large (RFC 8030 §7.2)."""


class DestinationRefused(DeliveryError):
    """The endpoint redirected, or its name resolved to an address the device refuses."""


class EndpointNotAllowed(DestinationRefused):
    """The endpoint is not at a push service the config allows (see endpoints.py): it never
    will be, so the subscription is dropped."""


class RetryLater(DeliveryError):
    """A later attempt may succeed; not before `retry_after` seconds if the service said."""

    def __init__(self, message: str, status: int = 0, retry_after: float | None = None
                 ) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


class RateLimited(RetryLater):
    """429 Too Many Requests."""


class PushServiceError(RetryLater):
    """5xx from the push service."""


class Unreachable(RetryLater):
    """No answer: connection refused, TLS failure, or the call's total deadline passed."""
