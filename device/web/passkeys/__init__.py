"""Passkeys (WebAuthn) as a second way in: where they fit (`site`), their store, and the
ceremonies behind the `Ceremonies` protocol (`webauthn`, the only user of fido2)."""

from __future__ import annotations

from device.web.passkeys.ceremony import Ceremonies
from device.web.passkeys.site import Site


def ceremonies(site: Site) -> Ceremonies:
    """The ceremonies for this site (fido2 is loaded only once passkeys are used)."""
    from device.web.passkeys.webauthn import Fido2Ceremonies

    return Fido2Ceremonies(site.rp_id, site.origin)
