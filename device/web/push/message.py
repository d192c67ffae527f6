"""What a push says. Kept minimal on purpose.

The payload is encrypted to the owner's browser (RFC 8291): the push service (Google, Mozilla,
Apple) sees only its size, timing and the TTL/Urgency/Topic headers, never the text. The text
is still shown on a lock screen and kept in the phone's notification history, so it carries
only what the owner needs to recognise the event and open the right page:

    {"title": "doorcam", "body": "New request from <agency name>", "url": "/#request-<id>",
     "tag": "request-<id>", "kind": "request", "image": "/live/snapshot.jpg",
     "actions": [{"action": "requests", "title": "Requests", "url": "/#request-<id>"},
                 {"action": "live", "title": "Live", "url": "/live"}]}

No case number, incident, time window, place, investigator, clip ids or hashes: the owner
reads those in the web app, behind its login. The agency name comes from the signed request;
it is cut to 80 printable characters. Topic headers are sent in the clear, so a request push
has none and the other pushes' topics are their kind's constant ("ring", "motion", ...).

`image` is a path in the web app, never the picture: the service worker fetches the current
snapshot from the device with the browser's login when the push arrives, so no picture of the
porch ever passes through a push service. `url` and each action's `url` are the pages the
notification and its buttons open.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from urllib.parse import quote

from device.web.kinds import Kind
from device.web.push import words

MAX_NAME = 80
SNAPSHOT = "/live/snapshot.jpg"  # the live view's current picture (behind the login)
LIVE = "/live"


@dataclass(frozen=True)
class Action:
    action: str
    title: str
    url: str


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    url: str  # a path in the owner's web app, opened when the notification is clicked
    tag: str  # a newer notification with the same tag replaces the older one
    kind: str = ""
    image: str | None = None
    actions: tuple[Action, ...] = field(default_factory=tuple)

    def payload(self) -> bytes:
        doc = asdict(self)
        if self.image is None:
            del doc["image"]
        doc["actions"] = [asdict(a) for a in self.actions]
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def _printable(text: str, limit: int) -> str:
    clean = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return clean if len(clean) <= limit else clean[:limit - 1] + "…"


_LIVE = Action("live", words.ACTION_LIVE, LIVE)


def request_message(request_id: str, agency_name: str) -> Message:
    rid = quote(request_id, safe="-_.")
    url = f"/#request-{rid}"
    return Message(words.TITLE, words.request(_printable(agency_name, MAX_NAME)), url,
                   f"request-{rid}", Kind.REQUEST.value, SNAPSHOT,
                   (Action("requests", words.ACTION_REQUESTS, url), _LIVE))


def motion_message() -> Message:
    return Message(words.TITLE, words.MOTION, "/?kind=motion", "motion", Kind.MOTION.value,
                   SNAPSHOT, (_LIVE,))


def person_message() -> Message:
    return Message(words.TITLE, words.PERSON, "/?kind=person", "person", Kind.PERSON.value,
                   SNAPSHOT, (_LIVE,))


def ring_message() -> Message:
    return Message(words.TITLE, words.RING, LIVE, "ring", Kind.RING.value, SNAPSHOT, (_LIVE,))


def event_message(kind: Kind) -> Message:
    """The push for a ring, a person or motion."""
    return {Kind.RING: ring_message, Kind.PERSON: person_message,
            Kind.MOTION: motion_message}[kind]()


def alert_message(text: str, url: str = "/activity") -> Message:
    """A security alert for one account (e.g. someone guessing its password)."""
    return Message(words.ALERT_TITLE, _printable(text, 160), url, "alert", "alert")
