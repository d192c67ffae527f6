"""What the owner's tool makes of a verified view: the pending requests that verify against
the owner's own registry, and a decision bound to the request body shown, sealed to the
device (docs/protocol.md, "Owner decisions")."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from uplink.errors import UplinkError
from uplink.protocol.canonical import JsonObject
from uplink.protocol.envelope import seal, x25519_from_text
from uplink.protocol.owner import Verdict, owner_decision, view_request
from uplink.protocol.registry import Registry
from uplink.protocol.request import AgencyRequest


class CannotDecide(UplinkError):
    """The decision asked for cannot be made from this view; the message says why."""


@dataclass(frozen=True)
class Pending:
    """A pending request of the view, its agency's signature verified against the owner's
    registry."""

    request: AgencyRequest
    clips: tuple[tuple[str, str], ...]  # (clip id, sha256) as the device matched them
    entry: JsonObject  # the view's entry, as signed by the device


def verified(view: JsonObject, registry: Registry, now: float
             ) -> tuple[list[Pending], list[str]]:
    """(the pending requests that verify, why each other one is not shown)."""
    good, bad = [], []
    for entry in view.get("pending", []):
        try:
            req, _ = view_request(entry, registry, now)
        except UplinkError as exc:
            bad.append(f"a pending request does not verify against your registry and is "
                       f"not shown: {str(exc)[:200]}")
            continue
        clips = tuple((str(c["id"]), str(c["sha256"])) for c in entry["clips"])
        good.append(Pending(req, clips, entry))
    return good, bad


@dataclass(frozen=True)
class SealedDecision:
    request: AgencyRequest
    clips: tuple[str, ...]  # the clips shared (none for a decline)
    payload: bytes  # sealed to the device, for its decisions topic


def decide(view: JsonObject, registry: Registry, now: float, *, request_id: str,
           accept: bool, clip_ids: Sequence[str] | None, key: Ed25519PrivateKey, kid: str,
           device_id: str, topic: str) -> SealedDecision:
    """A signed decision on a request of the view, sealed to the device's key in the view;
    CannotDecide when the request is not pending there or a clip is not its."""
    good, _ = verified(view, registry, now)
    match = [p for p in good if p.request.request_id == request_id]
    if not match:
        raise CannotDecide(f"request {request_id} is not pending on {device_id} (or does not "
                           "verify against your registry)")
    pending = match[0]
    digests = dict(pending.clips)
    chosen = [] if not accept else list(clip_ids or digests)
    unknown = [c for c in chosen if c not in digests]
    if unknown:
        raise CannotDecide(f"not matched by this request: {', '.join(unknown)}")
    req = pending.request
    doc = owner_decision(key=key, kid=kid, device_id=device_id, request_id=req.request_id,
                         request_sha256=req.body_sha256,
                         verdict=Verdict.ACCEPT if accept else Verdict.DECLINE,
                         clips=[(c, digests[c]) for c in chosen], destination=req.upload_url,
                         now=int(now))
    try:
        device_enc = x25519_from_text(str(view["enc_key"]))
    except ValueError as exc:
        raise CannotDecide(f"the device's encryption key in its view: {exc}") from None
    sealed = seal(json.dumps(doc).encode(), {str(view["kid"]): device_enc},
                  device_id=device_id, topic=topic)
    return SealedDecision(req, tuple(chosen), sealed)


