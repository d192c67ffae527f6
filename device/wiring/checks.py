"""Every check of a config that `doorcam run` makes before it starts anything, in one place:
`doorcam run` (exit 78 on any problem), `doorcam config check` and the SD card's first-boot
import (which runs `config check`) all call `load_checked`, so a file that passes the check
does not fail at start. Nothing here opens a camera, connects to a broker or writes a file.
"""

from __future__ import annotations

import contextlib
import getpass
import importlib.util
import ipaddress
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from capture.frame import SourceError
from capture.sources import SourceKind, check_spec, source_kind
from capture.sources.picam import parse_spec as parse_picamera
from config import Config, ConfigError, Problem
from config.broker import BrokerConnection
from config.loader import ConfigFile, load_config_file
from config.web import split_listen
from device.store.files import Layout
from device.wiring.paths import DevicePaths
from device.wiring.registry import renew_command
from motion import MotionError
from motion.regions import analysis_mask
from uplink.desk.keys import device_enc_key_path
from uplink.errors import RegistryError
from uplink.protocol import RegistryStore, public_key_from_text
from uplink.protocol.envelope import load_x25519_private, x25519_from_text
from uplink.protocol.keys import load_private_key
from uplink.protocol.registry import parse_registry
from uplink.protocol.urls import is_loopback


@dataclass
class Report:
    """What the checks found: problems stop the start; warnings (settings that are
    ignored) and notes only inform."""

    where: ConfigFile
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, section: str, key: str, value: object, allowed: str) -> None:
        self.problems.append(self.where.problem(section, key, value, allowed))


def load_checked(path: str | Path | None, *, capture: bool = True,
                 environ: dict[str, str] | None = None,
                 registry: Path | None = None) -> tuple[Config, Report]:
    """The config at `path`, checked as `doorcam run` needs it, and the report, whose
    warnings and notes are worth showing. ConfigError lists every problem: first those
    of the file itself, then (once it loads) those of what it names. `registry` is a
    registry about to be installed, checked in place of the installed one."""
    cfg, where = load_config_file(path)
    report = check(cfg, where, capture=capture,
                   environ=dict(os.environ) if environ is None else environ,
                   registry=registry)
    if report.problems:
        raise ConfigError(report.problems)
    return cfg, report


def check(cfg: Config, where: ConfigFile, *, capture: bool = True,
          environ: dict[str, str] | None = None, now: float | None = None,
          registry: Path | None = None) -> Report:
    report = Report(where, warnings=[str(w) for w in where.warnings])
    env = {} if environ is None else environ
    if capture:
        _source(cfg, report)
        _watched_area(cfg, report)
    _store(cfg, report)
    _keys(cfg, report)
    if cfg.uplink.enabled:
        _registry(cfg, report, time.time() if now is None else now, registry)
    if cfg.uplink.enabled or cfg.owner_mqtt.enabled:
        _device_keys(cfg, report)
    if cfg.uplink.enabled:
        _mqtt("mqtt", cfg.mqtt, report)
    if cfg.owner_mqtt.enabled:
        _mqtt("owner_mqtt", cfg.owner_mqtt, report)
        _password_env(cfg, report, env)
    if cfg.uplink.enabled and cfg.owner_mqtt.enabled:
        _distinct_sessions(cfg, report)
    _web(cfg, report)
    _push(cfg, report)
    return report


def _source(cfg: Config, report: Report) -> None:
    spec = cfg.capture.source
    try:
        check_spec(spec, cfg.capture)
    except SourceError as exc:
        report.add("capture", "source", spec, str(exc).removeprefix(f"{spec}: "))
        return
    # Looked up, not imported: importing it starts libcamera.
    if source_kind(spec) == SourceKind.PICAMERA and importlib.util.find_spec("picamera2") is None:
        report.notes.append(
            f"capture.source {spec}: the picamera2 library is not installed here (on "
            "Raspberry Pi OS: apt install python3-picamera2, and a venv made with "
            "--system-site-packages); doorcam run records nothing until it is")


def watched_area_problem(cfg: Config, width: int, height: int) -> tuple[str, str, str] | None:
    """(section, key, why) when the privacy masks, or the motion mask and zones with them,
    leave nothing of a `width` x `height` analysis image to watch; None when some is left."""
    privacy = cfg.privacy.masks
    if privacy and _nothing_left(privacy, [], width, height):
        return ("privacy", "masks", "cover the whole frame: nothing is left to watch or "
                "record; leave some of the picture uncovered")
    m = cfg.motion
    if not _nothing_left([*m.mask, *privacy], m.zones, width, height):
        return None
    if m.zones:
        covering = " and ".join(k for k, v in (("motion.mask", m.mask),
                                                ("privacy.masks", privacy)) if v)
        return ("motion", "zones", f"lie entirely under {covering}: nothing of the frame is "
                "left to watch")
    together = " together with privacy.masks" if privacy else ""
    return ("motion", "mask", f"covers the whole frame{together}: nothing is left to watch")


def _nothing_left(mask: list[list[list[float]]], zones: list[list[list[float]]],
                  width: int, height: int) -> bool:
    try:
        analysis_mask(mask, zones, width, height)
    except MotionError:
        return True
    return False


def _watched_area(cfg: Config, report: Report) -> None:
    # Masks are frame fractions, so the analysis size barely matters: the Pi camera's lores
    # size when the source names it, else the configured width at 4:3 (the detector checks
    # again at the source's own size when it starts).
    width, height = cfg.capture.lores_width, cfg.capture.lores_width * 3 // 4
    with contextlib.suppress(SourceError):  # reported by _source
        if source_kind(cfg.capture.source) == SourceKind.PICAMERA:
            width, height = parse_picamera(cfg.capture.source, cfg.capture).lores
    found = watched_area_problem(cfg, width, height)
    if found:
        section, key, why = found
        report.add(section, key, getattr(getattr(cfg, section), key), why)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.geteuid()}"


def _writable_dir(path: Path) -> str | None:
    """None if this user can create files in `path`, else why not."""
    if not path.is_dir():
        return f"{path} is not a directory"
    if not os.access(path, os.W_OK | os.X_OK):
        return f"{path} is not writable by {_user()}"
    return None


def _creatable(path: Path) -> tuple[bool, str | None]:
    """(exists, problem): a directory that exists and is writable, or one this user can
    create (the nearest existing parent is writable)."""
    if path.exists():
        return True, _writable_dir(path)
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    why = _writable_dir(parent)
    return False, (f"cannot be created: {why}" if why else None)


def _store(cfg: Config, report: Report) -> None:
    root = Path(cfg.store.path).expanduser()
    foreign = Layout(root).not_a_store()
    if foreign:
        report.add("store", "path", cfg.store.path, foreign)
        return
    exists, why = _creatable(root)
    if why:
        report.add("store", "path", cfg.store.path,
                   f"{why}; create it for the user that runs doorcam "
                   f"(e.g. sudo install -d -o USER {root}) or choose another store.path")
    elif not exists:
        report.notes.append(f"store.path {root} does not exist yet; it will be created")


def _keys(cfg: Config, report: Report) -> None:
    if cfg.uplink.registry_key:
        try:
            public_key_from_text(cfg.uplink.registry_key)
        except ValueError:
            report.add("uplink", "registry_key", cfg.uplink.registry_key,
                       "not an Ed25519 public key (43 base64url characters, as `doorcam "
                       "agency keygen` prints it): copy the key the registry's signer gave you")
    for entry, owner in zip(cfg.uplink.owner_keys, cfg.uplink.owners, strict=True):
        try:
            public_key_from_text(owner.signing_key)
        except ValueError:
            report.add("uplink", "owner_keys", entry, f"owner {owner.kid!r}: the signing key "
                       "is not an Ed25519 public key: paste the line `doorcam owner keygen` "
                       "printed")
            continue
        if owner.encryption_key is not None:
            try:
                x25519_from_text(owner.encryption_key)
            except ValueError:
                report.add("uplink", "owner_keys", entry, f"owner {owner.kid!r}: the "
                           "encryption key is not an X25519 public key: paste the line "
                           "`doorcam owner keygen` printed")


def _registry(cfg: Config, report: Report, now: float, incoming: Path | None) -> None:
    if not cfg.uplink.registry_key:
        return  # the loader already says uplink.enabled needs it
    try:
        key = public_key_from_text(cfg.uplink.registry_key)
    except ValueError:
        return  # said above
    paths = DevicePaths.of(cfg)
    shown = str(incoming) if incoming else cfg.uplink.registry_file or str(paths.registry)
    try:
        data = (incoming or paths.registry).read_bytes()
    except OSError as exc:
        report.add("uplink", "registry_file", shown,
                   f"cannot be read ({exc.strerror or exc}): install the signed agency "
                   "registry its signer publishes (sudo doorcam registry install FILE|URL)")
        return
    try:
        registry = parse_registry(data, key, now)
        newest, _ = RegistryStore(paths.registry_state, key).accepted()
    except RegistryError as exc:
        report.add("uplink", "registry_file", shown,
                   f"{exc} (checked against uplink.registry_key): get the current registry "
                   "from its signer, or check that registry_key is that signer's key")
        return
    if registry.version < newest and incoming:
        # `registry install` will refuse the older one; the config is judged by the newer
        # registry already in place.
        _registry(cfg, report, now, None)
        return
    if registry.version < newest:
        report.add("uplink", "registry_file", shown,
                   f"registry version {registry.version} is older than version {newest}, "
                   "accepted before: put the newest registry there")
        return
    how = renew_command(paths)
    for line in registry.expiring(now, cfg.uplink.registry_warn_days * 86400):
        report.notes.append(f"agency registry: {line}; get a newer one from its signer ({how})")


def _key_file(report: Report, shown: str, path: Path,
              load: Callable[[Path], object]) -> None:
    if path.exists():
        try:
            load(path)
        except (OSError, ValueError, TypeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            report.add("uplink", "device_key_file", shown,
                       f"{path}: {why}; fix its owner and mode (0600), or move it away to "
                       "have a new key made (agencies and owners then see a new device key)")
        return
    _, missing = _creatable(path.parent)
    if missing:
        report.add("uplink", "device_key_file", shown,
                   f"{path} does not exist and {missing.removeprefix('cannot be created: ')}: "
                   "the device cannot make its key; choose a writable place")
    else:
        report.notes.append(f"device key {path} will be created at the first start")


def _device_keys(cfg: Config, report: Report) -> None:
    paths = DevicePaths.of(cfg)
    shown = cfg.uplink.device_key_file or str(paths.device_key)
    before = len(report.problems)
    _key_file(report, shown, paths.device_key, load_private_key)
    if len(report.problems) == before:
        _key_file(report, shown, device_enc_key_path(paths.device_key), load_x25519_private)


def _readable(path_text: str) -> str | None:
    path = Path(path_text).expanduser()
    if not path.is_file():
        return f"{path} does not exist" if not path.exists() else f"{path} is not a file"
    if not os.access(path, os.R_OK):
        return f"{path} is not readable by {_user()}"
    return None


def _mqtt(section: str, mqtt: BrokerConnection, report: Report) -> None:
    if not mqtt.host.strip():
        report.add(section, "host", mqtt.host, "needs the broker's host name or address")
    for key in ("ca_file", "cert_file", "key_file"):
        value = getattr(mqtt, key)
        if not value:
            continue
        why = _readable(value)
        if why:
            report.add(section, key, value, f"{why}: give the path of a readable PEM file")
        elif not mqtt.tls:
            report.add(section, key, value, f"is used only with TLS: set {section}.tls = "
                       "true, or remove it")
    if mqtt.key_file and not mqtt.cert_file:
        report.add(section, "key_file", mqtt.key_file,
                   f"needs {section}.cert_file, the client certificate it belongs to")
    if mqtt.password and not mqtt.username and section == "mqtt":
        report.add(section, "password", "(hidden)", f"is used only with {section}.username")
    secret = mqtt.password or getattr(mqtt, "password_env", "")
    if mqtt.username and secret and not mqtt.tls and not is_loopback(mqtt.host.strip()):
        report.warnings.append(
            f"{section}.tls = false: the broker password goes to {mqtt.host} in clear text, "
            "readable by anyone on the way, who can then log in as this device; set "
            f"{section}.tls = true (the broker's TLS port is usually 8883)")


def _password_env(cfg: Config, report: Report, environ: dict[str, str]) -> None:
    o = cfg.owner_mqtt
    if o.password_env and not o.password and o.password_env not in environ:
        report.notes.append(f"owner_mqtt.password_env: ${o.password_env} is not set here; "
                            "the service must have it (e.g. Environment= or a credential)")


def _distinct_sessions(cfg: Config, report: Report) -> None:
    agency, home = cfg.mqtt, cfg.owner_mqtt
    same_broker = (agency.host, agency.port) == (home.host, home.port)
    if same_broker and (agency.effective_client_id(cfg.device.id)
                        == home.effective_client_id(cfg.device.id)):
        report.add("owner_mqtt", "client_id", home.client_id,
                   "is the [mqtt] client id on the same broker: the two connections would "
                   "take each other's session over; leave it empty")


def _web(cfg: Config, report: Report) -> None:
    w = cfg.web
    for proxy in w.trusted_proxies:
        net = ipaddress.ip_network(proxy, strict=False)
        if not (net.is_private or net.is_loopback):
            report.warnings.append(
                f"web.trusted_proxies: {proxy} includes public addresses: anyone there can "
                "claim any client address in X-Forwarded-For; list only your proxies")
    if not w.tls:
        host = split_listen(w.listen)[0]
        if not is_loopback(host):
            report.add("web", "listen", w.listen, "a loopback address (127.0.0.1:PORT or "
                       "[::1]:PORT) while web.tls = false: plain HTTP would expose passwords "
                       "on the network (serve it behind a reverse proxy on this machine, or "
                       "turn tls on)")
        return
    if bool(w.cert_file) != bool(w.key_file):
        given, missing = (("cert_file", "key_file") if w.cert_file
                          else ("key_file", "cert_file"))
        report.add("web", missing, "", f"needed with web.{given}: give both, or neither "
                   "(the device then makes its own certificate)")
    for key, marker in (("cert_file", b"-----BEGIN CERTIFICATE-----"),
                        ("key_file", b"PRIVATE KEY-----")):
        value = getattr(w, key)
        if not value:
            continue
        why = _readable(value)
        if why is None:
            try:
                data = Path(value).expanduser().read_bytes()
            except OSError as exc:
                why = str(exc.strerror or exc)
            else:
                if marker not in data:
                    why = "not a PEM " + ("certificate" if key == "cert_file" else "key")
        if why:
            report.add("web", key, value, f"{why}: give a readable PEM file, or leave both "
                       "cert_file and key_file empty for the device's own certificate")


def _push(cfg: Config, report: Report) -> None:
    # The web app, not the daemon, sends pushes: a warning here, a refusal to start there.
    if cfg.push.enabled and not cfg.push.contact:
        report.warnings.append(
            "push.enabled = true needs push.contact ('mailto:you@example.org' or an https:// "
            "URL): push services refuse pushes without it, so the web app (doorcam web) will "
            "not start until it is set")
