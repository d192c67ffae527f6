"""Every word a push says (the notification surface; the Notifications page's words are in
device/web/words.py). One place, so a translation or a rewording touches one file."""

from __future__ import annotations

TITLE = "doorcam"

# What a push says, by kind.
RING = "Someone rang the doorbell"
MOTION = "Motion at the door"
PERSON = "A person at the door"
REQUEST = "New request from {agency}"
AN_AGENCY = "an agency"
ALERT_TITLE = "doorcam: security"

# The buttons under a push.
ACTION_LIVE = "Live"
ACTION_REQUESTS = "Requests"


def request(agency: str) -> str:
    return REQUEST.format(agency=agency or AN_AGENCY)
