"""The agency registry on the device: installing a signed one (from a file or an https URL),
and the live copy the request desk checks requests against, re-read when its file changes.

Files beside the clips (store.path): registry.state (rollback protection), registry.source
(the URL the registry was last installed from, for `doorcam registry refresh`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common import write_atomic
from config import Config
from device.errors import UserError
from device.wiring.paths import DevicePaths
from uplink.audit import AuditKind, AuditLog
from uplink.errors import AuditError, RegistryError, RequestRejected, UploadError
from uplink.protocol import Registry, RegistryStore, public_key_from_text
from uplink.protocol.fields import format_time
from uplink.protocol.registry import MAX_REGISTRY_BYTES, Agency, parse_registry
from uplink.protocol.request import CLOCK_SKEW_S
from uplink.upload.transport import RequestsTransport

log = logging.getLogger("doorcam")


def registry_key(cfg: Config) -> Ed25519PublicKey:
    """The key the owner trusts to sign registries ([uplink] registry_key)."""
    if not cfg.uplink.registry_key:
        raise UserError("uplink.registry_key is not set: the device trusts no agency registry")
    try:
        return public_key_from_text(cfg.uplink.registry_key)
    except ValueError as exc:
        raise UserError(f"uplink.registry_key: {exc}") from None


def source_path(paths: DevicePaths) -> Path:
    return paths.root / "registry.source"


def renew_command(paths: DevicePaths) -> str:
    """The command that brings a newer registry: refresh fetches again only one installed
    from its URL."""
    return ("doorcam registry refresh" if source_path(paths).exists()
            else "doorcam registry install FILE|URL")


@dataclass(frozen=True)
class Source:
    """Where `refresh` fetches from: the URL of the last install from a URL."""

    url: str
    ca_file: str = ""


def recorded_source(paths: DevicePaths) -> Source | None:
    try:
        doc = json.loads(source_path(paths).read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise UserError(f"{source_path(paths)}: unreadable ({exc})") from None
    url, ca_file = doc.get("url") if isinstance(doc, dict) else None, doc.get("ca_file", "")
    if not isinstance(url, str) or not isinstance(ca_file, str):
        raise UserError(f"{source_path(paths)}: malformed; install from the URL again")
    return Source(url, ca_file)


def fetch(cfg: Config, source: Source) -> bytes:
    """The registry at `source.url`: https only (loopback http with the upload dev flag),
    no redirects, within [upload] call_deadline_s in all."""
    if source.ca_file and not Path(source.ca_file).is_file():
        raise UserError(f"--ca-file {source.ca_file}: no such file")
    transport = RequestsTransport(cfg.upload, ca_bundle=source.ca_file or None,
                                  body_cap=MAX_REGISTRY_BYTES + 1)
    try:
        resp = transport.request("GET", source.url, {"Accept": "application/json"}, None,
                                 time.monotonic() + cfg.upload.call_deadline_s)
    except UploadError as exc:
        raise UserError(f"registry not fetched: {exc}") from None
    finally:
        transport.close()
    if resp.status != 200:
        raise UserError(f"registry not fetched: GET {source.url}: HTTP {resp.status}")
    if len(resp.body) > MAX_REGISTRY_BYTES:
        raise UserError(f"registry not fetched: {source.url} is larger than "
                        f"{MAX_REGISTRY_BYTES // (1024 * 1024)} MiB")
    return resp.body


@dataclass(frozen=True)
class Installed:
    registry: Registry
    previous_version: int
    written: bool  # False: this exact registry was already in place


def _agency_list(data: bytes) -> bool:
    """The unsigned input of `doorcam agency registry` (a list, or {"agencies": [...]})."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return False
    if isinstance(doc, dict) and "sig" not in doc and "type" not in doc:
        doc = doc.get("agencies")
    return isinstance(doc, list) and all(isinstance(a, dict) and "id" in a for a in doc)


def install(cfg: Config, data: bytes, origin: str, now: float,
            source: Source | None = None) -> Installed:
    """Check `data` as the daemon would (signature, rollback), write it durably where the
    daemon reads it, record it as accepted and audit it. Nothing changes if it is refused."""
    paths = DevicePaths.of(cfg)
    store = RegistryStore(paths.registry_state, registry_key(cfg))
    try:
        previous = store.accepted()[0]
        registry = store.check(data, now)
    except RegistryError as exc:
        hint = ("; it is a list of agencies, not a registry: the registry's signer makes one "
                "from it (doorcam agency registry)" if _agency_list(data) else "")
        raise UserError(f"{origin}: {exc}{hint}") from None
    try:
        placed: bytes | None = paths.registry.read_bytes()
    except OSError:
        placed = None
    in_place = placed == data
    if placed is not None and not in_place:
        # The state can be behind the file (a crash before `record`, or a file put in place
        # by hand that no daemon has read yet): a valid newer file is never replaced.
        newer = _version_of(placed, store, now)
        if newer > registry.version:
            raise UserError(f"{origin}: registry version {registry.version} is older than "
                            f"{newer}, in place at {paths.registry}")
    if not in_place:
        paths.registry.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(paths.registry, data, 0o644)
    # Recorded only once the file is in place: a crash in between leaves the state behind the
    # file (the daemon records it at its next read), never ahead of it.
    store.record(registry)
    if source is not None:
        write_atomic(source_path(paths), json.dumps(
            {"url": source.url, "ca_file": source.ca_file}).encode(), 0o644)
    if not in_place or registry.version > previous:
        with AuditLog(paths.audit) as audit:
            audit.append(AuditKind.REGISTRY, None, {
                "version": registry.version, "body_sha256": registry.body_sha256,
                "previous_version": previous, "source": origin[:300]}, at=now)
    return Installed(registry, previous, not in_place)


def _version_of(data: bytes, store: RegistryStore, now: float) -> int:
    """The version of a registry that passes the signature and expiry checks, else 0."""
    try:
        return parse_registry(data, store.registry_key, now).version
    except RegistryError:
        return 0


class LiveRegistry:
    """The registry as the request desk sees it (an `AgencyDirectory`). Used by one thread:
    `refresh` re-reads the file when it changed (an install by `doorcam registry`) and takes
    it through the same checks; a refused file leaves the current registry in use.

    With `audit` (the daemon), each registry taken into use and each file refused is audited
    once: the audit log itself says what was audited before, so a restart does not repeat an
    entry. A registry that cannot be audited is not taken into use (retried at the next
    refresh)."""

    def __init__(self, cfg: Config, now: float, *, audit: bool = False) -> None:
        self.paths = DevicePaths.of(cfg)
        self.store = RegistryStore(self.paths.registry_state, registry_key(cfg))
        self.warn_s = cfg.uplink.registry_warn_days * 86400
        self.audit = audit
        self._audited: set[tuple[str, str]] = set()  # (kind, digest) known to be in the log
        self._stamp = self._file_stamp()
        try:
            data = self.paths.registry.read_bytes()
        except OSError as exc:
            raise UserError(f"agency registry {self.paths.registry}: "
                            f"{exc.strerror or exc}") from None
        try:
            self.current = self._take(data, now)
        except RegistryError as exc:
            self._audit_refused(data, exc, 0, now)
            raise UserError(f"agency registry {self.paths.registry}: {exc}") from None
        self.expired = False

    def _take(self, data: bytes, now: float) -> Registry:
        """`data` checked (signature, rollback, expiry), recorded as accepted, audited."""
        registry = self.store.accept(data, now)
        expires = registry.expires_at
        self._audit_once(AuditKind.REGISTRY_LOADED, "body_sha256", registry.body_sha256, {
            "version": registry.version, "issued_at": format_time(registry.issued_at),
            "expires_at": None if expires is None else format_time(expires),
            "agencies": len(registry.agencies)}, now)
        return registry

    def _audit_refused(self, data: bytes, exc: RegistryError, in_use: int, now: float) -> None:
        self._audit_once(AuditKind.REGISTRY_REFUSED, "file_sha256",
                         hashlib.sha256(data).hexdigest(),
                         {"reason": str(exc)[:300], "in_use_version": in_use}, now)

    def _audit_once(self, kind: AuditKind, key: str, digest: str, detail: dict[str, object],
                    now: float) -> None:
        if not self.audit or (kind, digest) in self._audited:
            return
        with AuditLog(self.paths.audit) as audit:
            if audit.find_detail(kind, key, digest) is None:
                audit.append(kind, None, {key: digest, **detail}, at=now)
        self._audited.add((kind, digest))

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.paths.registry)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size, st.st_ino

    def _reload(self, data: bytes, now: float) -> None:
        old = self.current
        try:
            self.current = self._take(data, now)
        except RegistryError as exc:
            log.warning("agency registry %s not loaded, v%d stays in use: %s",
                        self.paths.registry, old.version, exc)
            self._audit_refused(data, exc, old.version, now)
            return
        if self.current.body_sha256 != old.body_sha256:
            log.info("agency registry v%d loaded (was v%d)", self.current.version, old.version)

    def agency(self, agency_id: str) -> Agency | None:
        if self.expired:
            raise RequestRejected("registry_expired", f"the agency registry "
                                  f"v{self.current.version} has expired")
        return self.current.agency(agency_id)

    def refresh(self, now: float) -> None:
        """Take a changed file if it passes every check; note whether ours has expired."""
        stamp = self._file_stamp()
        if stamp is not None and stamp != self._stamp:
            self._stamp = stamp
            try:
                self._reload(self.paths.registry.read_bytes(), now)
            except OSError as exc:
                log.warning("agency registry %s not loaded, v%d stays in use: %s",
                            self.paths.registry, self.current.version, exc.strerror or exc)
            except AuditError as exc:
                log.error("agency registry %s not audited, v%d stays in use (tried again at "
                          "the next check): %s", self.paths.registry, self.current.version, exc)
                self._stamp = None
        expires = self.current.expires_at
        self.expired = expires is not None and now > expires + CLOCK_SKEW_S

    def warnings(self, now: float) -> list[str]:
        """What expires within [uplink] registry_warn_days (or has expired)."""
        return self.current.expiring(now, self.warn_s)
