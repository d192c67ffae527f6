"""The words of the timeline, clip and share-confirmation pages, in one place (to be folded
into the web app's words module)."""

from __future__ import annotations

from device.web.events import EventKind

KIND = {EventKind.RING: "Ring", EventKind.PERSON: "Person", EventKind.MOTION: "Motion"}
KIND_FILTER = {None: "All", EventKind.RING: "Rings", EventKind.PERSON: "People",
               EventKind.MOTION: "Motion"}
NO_EVENTS = {None: "Nothing happened at the door in this time.",
             EventKind.RING: "No one rang the doorbell in this time.",
             EventKind.PERSON: "No people were seen in this time.",
             EventKind.MOTION: "No motion was recorded in this time."}
BAD_KIND = "That is not a kind of event this device records (ring, motion{person})."
BAD_DAY = "That is not a day (expected YYYY-MM-DD)."
BAD_CURSOR = "That page link is damaged: go back to the timeline."
EMPTY_STORE = ("No events yet. When someone rings or moves at the door, it appears here "
               "with a picture.")


def events(n: int) -> str:
    return f"{n} event{'' if n == 1 else 's'}"


def pending_banner(n: int, agency: str) -> str:
    if n == 1:
        return f"{agency} asks for footage from your camera: your decision is needed."
    return f"{n} agency requests for footage await your decision."
