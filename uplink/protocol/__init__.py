"""The agency request protocol, version 1 (docs/protocol.md): parsing, signatures, registry,
policy limits, replay ledger, topics and matching."""

from uplink.protocol.canonical import canonical_bytes, parse_json
from uplink.protocol.geo import cells_covering, encode, neighbours, topics_for
from uplink.protocol.keys import (
    generate_keypair,
    load_private_key,
    load_public_key,
    public_key_from_text,
    public_key_to_text,
    save_private_key,
    save_public_key,
    sign_document,
    verify_document,
)
from uplink.protocol.ledger import RequestLedger
from uplink.protocol.registry import Agency, AgencyKey, Jurisdiction, Registry, RegistryStore
from uplink.protocol.request import (
    PROTOCOL_VERSION,
    AgencyRequest,
    check_policy,
    location_in_area,
    parse_request,
    window_overlaps,
)
from uplink.protocol.urls import Destination, check_upload_url
from uplink.protocol.validator import RequestValidator, VerifiedRequest

__all__ = [
    "PROTOCOL_VERSION",
    "Agency",
    "AgencyKey",
    "AgencyRequest",
    "Destination",
    "Jurisdiction",
    "Registry",
    "RegistryStore",
    "RequestLedger",
    "RequestValidator",
    "VerifiedRequest",
    "canonical_bytes",
    "cells_covering",
    "check_policy",
    "check_upload_url",
    "encode",
    "generate_keypair",
    "load_private_key",
    "load_public_key",
    "location_in_area",
    "neighbours",
    "parse_json",
    "parse_request",
    "public_key_from_text",
    "public_key_to_text",
    "save_private_key",
    "save_public_key",
    "sign_document",
    "topics_for",
    "verify_document",
    "window_overlaps",
]
