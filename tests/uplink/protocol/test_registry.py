"""The signed agency registry: verification, parsing, and rollback protection on disk."""

from __future__ import annotations

import json

import pytest

from tests.uplink.protocol.world import AGENCY_ID, AGENCY_KID, DAY, NOW, World, agency_entry
from uplink.errors import RegistryError
from uplink.protocol.fields import format_time
from uplink.protocol.keys import generate_keypair, sign_document
from uplink.protocol.registry import Jurisdiction, parse_registry


def test_valid_registry(world: World) -> None:
    registry = world.registry()
    agency = registry.agency(AGENCY_ID)
    assert agency is not None and agency.name == "84th Precinct"
    assert agency.keys[AGENCY_KID].valid_until == NOW + 300 * DAY
    assert agency.upload_hosts == ("evidence.example.gov", "upload.example.gov:8443")
    assert registry.agency("nobody") is None
    assert json.loads(world.store().state_path.read_text())["version"] == 3


def test_wrong_registry_signature(world: World) -> None:
    impostor = generate_keypair()[0]
    with pytest.raises(RegistryError, match="bad_signature"):
        world.store().accept(world.registry_bytes(key=impostor), NOW)
    assert not world.store().state_path.exists()


def test_tampered_registry(world: World) -> None:
    doc = json.loads(world.registry_bytes())
    doc["agencies"][0]["upload_hosts"].append("evil.example.com")
    with pytest.raises(RegistryError, match="bad_signature"):
        world.store().accept(json.dumps(doc).encode(), NOW)


def test_unsigned_registry(world: World) -> None:
    with pytest.raises(RegistryError, match="unsigned"):
        world.store().accept(json.dumps(world.registry_doc()).encode(), NOW)


def test_rollback_is_refused_and_survives_restart(world: World) -> None:
    world.store().accept(world.registry_bytes(version=5), NOW)
    with pytest.raises(RegistryError, match="older"):
        world.store().accept(world.registry_bytes(version=4), NOW)
    assert world.store().accept(world.registry_bytes(version=5), NOW).version == 5
    assert world.store().accept(world.registry_bytes(version=6), NOW).version == 6
    assert world.store().accepted()[0] == 6


def test_same_version_with_other_content_is_refused(world: World) -> None:
    world.store().accept(world.registry_bytes(version=5), NOW)
    other = world.registry_bytes(version=5, issued_at=format_time(NOW - 2 * DAY))
    with pytest.raises(RegistryError, match="other content"):
        world.store().accept(other, NOW)


def test_garbled_state_file_fails_closed(world: World) -> None:
    world.store().state_path.write_text("{not json")
    with pytest.raises(RegistryError, match="unreadable"):
        world.store().accept(world.registry_bytes(), NOW)


def test_registry_from_the_future_is_refused(world: World) -> None:
    with pytest.raises(RegistryError, match="future"):
        world.store().accept(world.registry_bytes(issued_at=format_time(NOW + DAY)), NOW)


@pytest.mark.parametrize("change", [
    {"key_public_key": "AAAA"},
    {"key_revoked": "no"},
    {"upload_hosts": []},
    {"jurisdiction": {"geohash_prefixes": ["dr5a"]}},  # 'a' is not in the geohash alphabet
    {"jurisdiction": {"lat": "40.0", "lon": "-74.0"}},
    {"surprise": 1},
])
def test_malformed_agency_entries(world: World, change: dict[str, object]) -> None:
    entry = agency_entry(world.agency_public, **change)
    with pytest.raises(RegistryError, match="schema"):
        world.store().accept(world.registry_bytes(agencies=[entry]), NOW)


def test_duplicate_agency(world: World) -> None:
    entry = agency_entry(world.agency_public)
    with pytest.raises(RegistryError, match="twice"):
        world.store().accept(world.registry_bytes(agencies=[entry, entry]), NOW)


def test_a_request_signature_is_not_a_registry(world: World) -> None:
    doc = sign_document({**world.registry_doc(), "type": "request"}, world.registry_key, "r")
    with pytest.raises(RegistryError, match="v1 registry"):
        parse_registry(json.dumps(doc).encode(), world.registry_key.public_key(), NOW)


def test_geohash_jurisdiction_needs_the_whole_circle() -> None:
    jur = Jurisdiction(geohash_prefixes=("dr5r",))  # part of Brooklyn / Manhattan
    assert jur.contains_circle(40.7000, -73.9900, 300)
    assert not jur.contains_circle(40.7800, -73.9900, 300)  # dr5r ends at 40.78125 N
    assert not Jurisdiction().contains_circle(40.7, -73.99, 300)
