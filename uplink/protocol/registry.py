"""The agency registry: a document signed by a key the owner trusts, with rollback protection."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common import write_atomic
from common.durable import shared_mode
from uplink.errors import RegistryError, RequestRejected
from uplink.protocol.canonical import JsonObject, canonical_bytes, parse_json
from uplink.protocol.fields import ID_RE, Fields
from uplink.protocol.geo import BASE32, cells_covering, distance_m
from uplink.protocol.keys import KID_RE, public_key_from_text, verify_document
from uplink.protocol.request import CLOCK_SKEW_S, PROTOCOL_VERSION

REGISTRY_TYPE: Final = "registry"
MAX_REGISTRY_BYTES: Final = 4 * 1024 * 1024
MAX_REGISTRY_DEPTH: Final = 5
MAX_PREFIX_LEN: Final = 7


@dataclass(frozen=True)
class AgencyKey:
    """One signing key of an agency and when it may be used (UTC epoch seconds)."""

    kid: str
    public_key: Ed25519PublicKey
    valid_from: int
    valid_until: int
    revoked: bool


@dataclass(frozen=True)
class Jurisdiction:
    """Where an agency may ask: a circle, or a set of geohash prefixes."""

    lat: float | None = None
    lon: float | None = None
    radius_m: int | None = None
    geohash_prefixes: tuple[str, ...] = ()

    def contains_circle(self, lat: float, lon: float, radius_m: float) -> bool:
        """True only if the whole circle lies inside the jurisdiction."""
        if self.lat is not None and self.lon is not None and self.radius_m is not None:
            return distance_m(self.lat, self.lon, lat, lon) + radius_m <= self.radius_m
        if not self.geohash_prefixes:
            return False
        precision = max(len(p) for p in self.geohash_prefixes)
        try:
            cells = cells_covering(lat, lon, radius_m, precision)
        except ValueError:
            return False
        return all(any(c.startswith(p) for p in self.geohash_prefixes) for c in cells)


@dataclass(frozen=True)
class Agency:
    """An agency as the registry describes it."""

    agency_id: str
    name: str
    keys: Mapping[str, AgencyKey]
    jurisdiction: Jurisdiction
    upload_hosts: tuple[str, ...]


@dataclass(frozen=True)
class Registry:
    """A verified registry document."""

    version: int
    issued_at: int
    agencies: Mapping[str, Agency]
    body_sha256: str
    expires_at: int | None = None

    def agency(self, agency_id: str) -> Agency | None:
        """The agency with this id, if listed."""
        return self.agencies.get(agency_id)

    def expiring(self, now: float, within_s: float) -> list[str]:
        """One line for the registry and each usable key that expires within `within_s`
        (or has expired): what to renew before requests start being refused."""
        found: list[tuple[int, str]] = []
        if self.expires_at is not None and self.expires_at <= now + within_s:
            found.append((self.expires_at, f"registry v{self.version}"))
        lines = []
        for agency in self.agencies.values():
            usable = [k for k in agency.keys.values()
                      if not k.revoked and k.valid_from <= now <= k.valid_until]
            if not usable:
                lines.append(f"agency {agency.agency_id} has no valid key now (all revoked, "
                             "expired or not yet valid)")
            for key in usable:
                if key.valid_until <= now + within_s:
                    found.append((key.valid_until, f"key {key.kid!r} of {agency.agency_id}"))
        return [_expiry_line(what, at, now) for at, what in sorted(found)] + lines


def _expiry_line(what: str, at: int, now: float) -> str:
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    if at <= now:
        return f"{what} expired {when}"
    days = (at - now) / 86400
    return f"{what} expires {when} (in {days:.0f} day(s))" if days >= 1 else \
        f"{what} expires {when} (in {(at - now) / 3600:.0f} hour(s))"


def _key(obj: object) -> AgencyKey:
    f = Fields(obj, "$.agencies[].keys[]")
    kid = f.text("kid", 64, pattern=KID_RE)
    try:
        public_key = public_key_from_text(f.get("public_key", str))
    except ValueError as exc:
        raise f.fail("public_key", str(exc)) from None
    key = AgencyKey(kid, public_key, f.time("valid_from"), f.time("valid_until"),
                    f.flag("revoked"))
    f.done()
    return key


def _jurisdiction(f: Fields) -> Jurisdiction:
    if "geohash_prefixes" in f.obj:
        prefixes = tuple(f.items("geohash_prefixes", 10_000))
        for p in prefixes:
            if not isinstance(p, str) or not 1 <= len(p) <= MAX_PREFIX_LEN or not all(
                    c in BASE32 for c in p):
                raise f.fail("geohash_prefixes", f"bad prefix {str(p)[:16]!r}")
        f.done()
        return Jurisdiction(geohash_prefixes=prefixes)
    jur = Jurisdiction(f.decimal("lat", 90), f.decimal("lon", 180),
                       f.integer("radius_m", 1, 20_000_000))
    f.done()
    return jur


def _agency(obj: object) -> Agency:
    f = Fields(obj, "$.agencies[]")
    agency_id, name = f.text("id", 64, pattern=ID_RE), f.text("name", 200)
    keys: dict[str, AgencyKey] = {}
    for item in f.items("keys", 64):
        key = _key(item)
        if key.kid in keys:
            raise f.fail("keys", f"duplicate kid {key.kid!r}")
        keys[key.kid] = key
    jurisdiction = _jurisdiction(f.nested("jurisdiction"))
    hosts = f.items("upload_hosts", 64)
    if not all(isinstance(h, str) and 0 < len(h) <= 260 for h in hosts):
        raise f.fail("upload_hosts", "must be host strings")
    f.done()
    return Agency(agency_id, name, keys, jurisdiction, tuple(hosts))


def parse_registry(data: bytes, registry_key: Ed25519PublicKey, now: float) -> Registry:
    """Verify and parse a registry file; any problem is a `RegistryError`."""
    try:
        doc = parse_json(data, max_bytes=MAX_REGISTRY_BYTES, max_depth=MAX_REGISTRY_DEPTH)
        body = verify_document(doc, registry_key)
        return _registry(body, now)
    except RequestRejected as exc:
        raise RegistryError(f"registry refused: {exc.reason}: {exc.detail}") from None


def _registry(body: JsonObject, now: float) -> Registry:
    f = Fields(body, "$")
    if f.get("type", str) != REGISTRY_TYPE or f.get("protocol", int) != PROTOCOL_VERSION:
        raise RegistryError("not a v1 registry document")
    f.text("kid", 64, pattern=KID_RE)
    version, issued_at = f.integer("version", 1, 2**53 - 1), f.time("issued_at")
    if issued_at > now + CLOCK_SKEW_S:
        raise RegistryError("registry is issued in the future")
    expires_at = f.time("expires_at") if "expires_at" in f.obj else None
    if expires_at is not None:
        if expires_at <= issued_at:
            raise RegistryError("registry expires_at is not after issued_at")
        if expires_at < now - CLOCK_SKEW_S:
            raise RegistryError(f"registry v{version} expired at {body['expires_at']}")
    agencies: dict[str, Agency] = {}
    for item in f.items("agencies", 10_000):
        agency = _agency(item)
        if agency.agency_id in agencies:
            raise RegistryError(f"agency {agency.agency_id!r} listed twice")
        agencies[agency.agency_id] = agency
    f.done()
    digest = hashlib.sha256(canonical_bytes(body)).hexdigest()
    return Registry(version, issued_at, agencies, digest, expires_at)


class RegistryStore:
    """Accepts registries, refusing any older than the newest accepted (kept in `state_path`)."""

    def __init__(self, state_path: Path, registry_key: Ed25519PublicKey) -> None:
        self.state_path = Path(state_path)
        self.registry_key = registry_key

    def accepted(self) -> tuple[int, str]:
        """(version, body hash) of the newest registry accepted so far; (0, "") if none."""
        try:
            state = json.loads(self.state_path.read_text("utf-8"))
        except FileNotFoundError:
            return 0, ""
        except (OSError, ValueError) as exc:
            # Fail closed: a lost or garbled state file must not reopen the door to rollback.
            raise RegistryError(f"registry state {self.state_path} unreadable: {exc}") from None
        version, digest = state.get("version"), state.get("body_sha256")
        if not isinstance(version, int) or not isinstance(digest, str):
            raise RegistryError(f"registry state {self.state_path} is malformed")
        return version, digest

    def check(self, data: bytes, now: float) -> Registry:
        """Verify `data` and refuse rollback or a changed body under the same version,
        recording nothing (an installer writes the file first, then `record`s it)."""
        registry = parse_registry(data, self.registry_key, now)
        version, digest = self.accepted()
        if registry.version < version:
            raise RegistryError(f"registry version {registry.version} is older than {version}, "
                                "accepted before")
        if registry.version == version and registry.body_sha256 != digest:
            raise RegistryError(f"registry version {version} seen before with other content")
        return registry

    def accept(self, data: bytes, now: float) -> Registry:
        """Verify `data`, refuse rollback or a changed body under the same version, record it."""
        registry = self.check(data, now)
        self.record(registry)
        return registry

    def record(self, registry: Registry) -> None:
        """Remember `registry` as the newest accepted (a no-op if it already is)."""
        if self.accepted()[0] >= registry.version:
            return
        state = {"version": registry.version, "body_sha256": registry.body_sha256}
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.state_path, json.dumps(state).encode(), shared_mode())
