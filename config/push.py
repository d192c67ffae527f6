"""The [push] config section: Web Push notifications to the owner's subscribed browsers."""

# `setting()` returns a dataclasses.field carrying validation metadata.

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from config.fields import setting

FOUR_WEEKS_S = 28 * 24 * 3600  # the longest TTL push services keep a message

# RFC 8292 §2.1: "sub" is a mailto: or https: URI the push service can reach the sender at.
_CONTACT = re.compile(r"(mailto:[^\s@/]+@[^\s@/]+\.[^\s@/]+|https://[^\s/@]+(/\S*)?)")


def _contact(value: Any) -> str | None:
    if value == "" or (isinstance(value, str) and len(value) <= 256
                       and _CONTACT.fullmatch(value)):
        return None
    return "empty, or a contact for push services: 'mailto:you@example.org' or an https:// URL"


@dataclass(frozen=True)
class PushConfig:
    """Web Push to the owner's browsers: when to notify and how the device introduces itself."""

    enabled: bool = setting(
        False, "Send Web Push notifications to the browsers the owner subscribed in the "
        "web app (a new agency request; motion if notify_on_motion).")
    contact: str = setting(
        "", "How push services can reach whoever runs this device, sent in every push "
        "(the VAPID 'sub' claim): 'mailto:you@example.org' or an https:// URL. Required "
        "when enabled: some push services (Apple's) refuse pushes without it.",
        check=_contact)
    notify_on_motion: bool = setting(
        False, "Also notify on motion at the door (at most one push a minute).")
    ttl_s: int = setting(
        43200, "Seconds a push service keeps a notification for a browser that is offline; "
        "0 = deliver now or never. Motion pushes keep at most 5 minutes.",
        min=0, max=FOUR_WEEKS_S)
