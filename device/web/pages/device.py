"""/device: effective settings (secrets hidden), keys, agency registry, storage."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from starlette.exceptions import HTTPException
from starlette.responses import Response

from config.example import toml_value
from config.schema import SECTIONS
from device.web import tls, trust, words
from device.web.call import Call, page
from device.web.context import Unavailable
from device.web.passkeys.site import refusal, site_of
from device.web.passkeys.store import PasskeyStore
from device.web.zones import device_zone


def settings_rows(cfg: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(key, shown value)]); a field kept out of repr() is a secret."""
    out = []
    for name in SECTIONS:
        section = getattr(cfg, name)
        rows = []
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            hidden = "(set, hidden)" if value else "(not set)"
            rows.append((f.name, toml_value(value) if f.repr else hidden))
        out.append((name, rows))
    return out


def device_key_fingerprint(key_file: Path) -> str | None:
    """The public device key's fingerprint from a public-key file beside the private key
    (`<key>.pub`), if the service wrote one. The private key itself is never opened."""
    for candidate in (key_file.with_name(key_file.name + ".pub"), key_file.with_suffix(".pub")):
        try:
            public = serialization.load_pem_public_key(candidate.read_bytes())
        except (OSError, ValueError):
            continue
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "SHA256:" + hashlib.sha256(raw).hexdigest()
    return None


@page
def device_page(call: Call) -> Response:
    ctx = call.ctx
    registry, problem = None, ""
    try:
        registry = ctx.registry(call.now)
    except Unavailable as exc:
        problem = str(exc)
    with ctx.clips() as view:
        count, size = view.totals()
        disk = view.disk()
    cert = None
    if ctx.cfg.web.tls and ctx.paths.cert.exists():
        cert = tls.fingerprint(ctx.paths.cert)
    device_ca = trust.load(ctx.paths.root) if ctx.cfg.web.tls else None
    ca_serves = device_ca is not None and trust.issued_by(ctx.paths.cert, device_ca)
    with ctx.accounts() as acc:
        accounts = acc.names()
    push_on = ctx.cfg.push.enabled
    push_key = ctx.push.public_key() if push_on else ""
    push_count = len(ctx.push.subscriptions(call.account)) if push_on else 0
    prefs = ctx.push.preferences(call.account) if push_on else None
    snoozed_until = prefs.snooze_until if prefs is not None and prefs.snoozed(call.now) \
        else None
    site = site_of(ctx.cfg.web.public_url)
    with PasskeyStore(ctx.paths.accounts) as store:
        passkeys = store.of(call.account)
    return call.render(
        "device.html", cfg=ctx.cfg, sections=settings_rows(ctx.cfg), registry=registry,
        registry_problem=problem, count=count, size=size, disk=disk, cert=cert,
        key_present=ctx.paths.device_key.exists(), device_ca=device_ca, ca_serves=ca_serves,
        public_url=ctx.cfg.web.public_url,
        key_fingerprint=device_key_fingerprint(ctx.paths.device_key), accounts=accounts,
        push_on=push_on, push_key=push_key, push_count=push_count,
        push_words=words.NotifyPage,
        snoozed_until=snoozed_until, passkeys=passkeys,
        passkey_site=site, passkey_problem=refusal(site, call.request.headers.get("host", "")),
        clock=clock_facts(call))


def clock_facts(call: Call) -> dict[str, Any]:
    """The device's zone, and whether the browser's (which the pages use) differs."""
    device = device_zone()
    browser = call.zone if call.zone.browser else None
    return {"device": device, "now": call.now, "browser": browser,
            "differs": browser is not None and not browser.keeps_time_with(device, call.now),
            "same_clock": browser is not None
            and browser.offset(call.now) == device.offset(call.now)}


def _ca_or_404(call: Call) -> trust.DeviceCa:
    found = trust.load(call.ctx.paths.root) if call.ctx.cfg.web.tls else None
    if found is None:
        raise HTTPException(404, "This device has no certificate authority yet: make it "
                                 "with `sudo doorcam ca issue` on the device.")
    return found


@page
def ca_certificate(call: Call) -> Response:
    """The CA as Android (and desktop browsers) install it: DER, a CA certificate type."""
    found = _ca_or_404(call)
    return Response(found.der, media_type=trust.CRT_TYPE, headers={
        "Content-Disposition": f'attachment; filename="{call.ctx.cfg.device.id}-ca.crt"'})


@page
def ca_profile(call: Call) -> Response:
    """The CA as an iPhone installs it: a configuration profile with a root payload."""
    found = _ca_or_404(call)
    return Response(trust.profile(found, call.ctx.cfg.device.id),
                    media_type=trust.PROFILE_TYPE, headers={
        "Content-Disposition":
            f'attachment; filename="{call.ctx.cfg.device.id}.mobileconfig"'})
