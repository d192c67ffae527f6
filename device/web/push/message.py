"""What a push says. Kept minimal on purpose.

The payload is encrypted to the owner's browser (RFC 8291): the push service (Google, Mozilla,
Apple) sees only its size, timing and the TTL/Urgency/Topic headers, never the text. The text
is still shown on a lock screen and kept in the phone's notification history, so it carries
only what the owner needs to recognise the event and open the right page:

    {"title": "doorcam", "body": "New request from <agency name>", "url": "/#request-<id>",
     "tag": "request-<id>"}

No case number, incident, time window, place, investigator, clip ids or hashes: the owner
reads those in the web app, behind its login. The agency name comes from the signed request;
it is cut to 80 printable characters. Topic headers are sent in the clear, so a request push
has none and the motion and doorbell pushes' topics are the constants "motion" and "ring".
A ring says only that someone rang: "Someone rang the doorbell", opening the clips page.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from urllib.parse import quote

TITLE = "doorcam"
MAX_NAME = 80


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    url: str  # a path in the owner's web app, opened when the notification is clicked
    tag: str  # a newer notification with the same tag replaces the older one

    def payload(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":")).encode()


def _printable(text: str, limit: int) -> str:
    clean = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return clean if len(clean) <= limit else clean[:limit - 1] + "…"


def request_message(request_id: str, agency_name: str) -> Message:
    name = _printable(agency_name, MAX_NAME) or "an agency"
    rid = quote(request_id, safe="-_.")
    return Message(TITLE, f"New request from {name}", f"/#request-{rid}", f"request-{rid}")


def motion_message() -> Message:
    return Message(TITLE, "Motion at the door", "/", "motion")


def ring_message() -> Message:
    return Message(TITLE, "Someone rang the doorbell", "/clips", "ring")
