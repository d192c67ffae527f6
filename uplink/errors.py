"""Every exception the uplink package raises, in one tree.

    UplinkError
    ├── RequestRejected(reason, detail)   an agency request (or signed document) refused
    ├── RegistryError                     the agency registry cannot be loaded or trusted
    ├── AuditError                        the audit log cannot be written or read
    ├── BookError                         the request book cannot be opened
    └── UploadError                       (section owned by the uploader, below)
        ├── PermanentUploadError          retrying cannot help
        │   └── DestinationRefused        3xx, non-https, host not allowed
        └── TransientUploadError          a later retry may succeed
            └── DeadlineExceeded          a call ran past its total deadline

Callers that must fail closed catch `UplinkError`; anything else escaping is a bug.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class UplinkError(Exception):
    """Base of every error raised on purpose by `uplink`."""


# --- requests and signed documents -------------------------------------------------------

#: Stable, machine-readable reasons carried by `RequestRejected.reason`. They are logged in
#: the audit trail and may be reported back to agencies, so never rename one.
REJECT_REASONS: Final = frozenset({
    "oversized",         # payload larger than the protocol allows, refused before parsing
    "bad_utf8",          # payload is not valid UTF-8
    "bad_json",          # not JSON, NaN/Infinity, duplicate keys, too deep
    "schema",            # wrong/missing/extra field, wrong type, value out of format
    "unsupported_version",
    "policy_window",     # time window shorter than 15 min or longer than 12 h
    "policy_area",       # circle area outside 0.025-0.5 square miles
    "policy_expiry",     # expires-at not after issued-at, or more than 30 days after it
    "window_future",     # window ends in the future (beyond clock skew)
    "unsigned",          # no `sig` / `kid`
    "bad_signature",     # signature does not verify
    "registry_expired",  # the device's agency registry is past its expires-at
    "unknown_agency",    # agency id not in the registry
    "unknown_key",       # agency has no key with this kid
    "revoked_key",
    "key_not_valid",     # key outside its valid-from / valid-until at issued-at or now
    "expired",           # expires-at has passed
    "not_yet_valid",     # issued-at in the future beyond clock skew
    "replayed",          # request id seen before
    "outside_jurisdiction",  # request circle not inside the agency's registered area
    "host_not_allowed",  # upload host not in the agency's allowed hosts
    "insecure_url",      # not https (or http outside the loopback dev exception), userinfo
    # The owner's own limits ([uplink]): the request is kept, as not matching, never shown.
    "owner_window",      # window outside the owner's shortest..longest
    "owner_area",        # circle area outside the owner's smallest..largest
    "owner_agency",      # agency not among those the owner accepts
    "owner_incident",    # incident type not among those the owner accepts
    # The agency's receipt of delivered evidence (audited, never sent anywhere).
    "bad_receipt",       # not a well-formed v1 receipt for this request
    "incomplete_receipt",  # a file the device sent is not listed
})


class RequestRejected(UplinkError):
    """A request was refused; `reason` is one of `REJECT_REASONS`, `detail` is for humans."""

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in REJECT_REASONS:
            # A typo in a reason code must not slip out to agencies or the audit log.
            raise ValueError(f"unknown reject reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class RegistryError(UplinkError):
    """The agency registry is missing, malformed, mis-signed or older than the accepted one."""


class AuditError(UplinkError):
    """The audit log could not be appended to or read."""


class BookError(UplinkError):
    """The request book (requests, decisions, the replay ledger) cannot be opened."""


# --- uploads (owned by the uploader; add subclasses here, keep the tree above in sync) -----


class UploadError(UplinkError):
    """Base of upload failures."""


class PermanentUploadError(UploadError):
    """Retrying the same upload cannot succeed."""


class TransientUploadError(UploadError):
    """A later retry of the same upload may succeed."""


class DeadlineExceeded(TransientUploadError):
    """An HTTP call ran past its total deadline."""


class DestinationRefused(PermanentUploadError):
    """The destination is not allowed: a redirect, plain http or a host not allowed."""


# --- owner decisions --------------------------------------------------------------------

class ConsentError(UplinkError):
    """A request or decision the owner asked about cannot be acted on."""


class UnknownRequest(ConsentError):
    """No request with this id is on the device."""


class Refusal(StrEnum):
    """Why a decision was refused whole. Logged in the audit trail: never rename one."""

    NOT_PENDING = "not_pending"  # already decided, or not a request awaiting a decision
    EXPIRED = "expired"
    CLIP_NOT_MATCHED = "clip_not_matched"  # a clip the request did not match, or none named
    CLIP_CHANGED = "clip_changed"  # a matched clip changed or vanished since matching
    CLIP_NOT_OFFERABLE = "clip_not_offerable"  # simulated, or its time not trusted, here
    WRONG_DESTINATION = "wrong_destination"
    WRONG_DEVICE = "wrong_device"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    STALE = "stale"  # issued_at outside the clock skew of now
    REPLAYED = "replayed"  # this decision id was already used
    BAD_DOCUMENT = "bad_document"
    REQUEST_CHANGED = "request_changed"  # made on another body of the request than ours
    NOT_SEALED = "not_sealed"
    REFUSED_BY_BOOK = "refused_by_book"  # the book's own guards (e.g. expired meanwhile)


class DecisionRefused(ConsentError):
    """A decision was refused whole (nothing recorded, nothing uploaded); `reason` says why."""

    def __init__(self, reason: Refusal, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
