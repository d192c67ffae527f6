"""Every user-facing word of the web app that names a state, keyed by the state's enum.

Pages and templates look words up here; they never spell a status, a refusal, a log entry
or an error title themselves. Add a kind's words here when you add the kind: the tests check
that every member of each enum has its words.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from http import HTTPStatus
from typing import Any, TypeVar

from device.web.access import AccessKind
from device.web.accounts import Pause
from device.web.events import EventKind
from device.web.kinds import Kind
from device.web.timefmt import clock, span, when
from uplink.audit import AuditEntry, AuditKind
from uplink.desk.book import RequestStatus
from uplink.desk.refusals import UNWRITTEN
from uplink.errors import Refusal

# --- a request's status, as the owner sees it ------------------------------------------

STATUS: Mapping[RequestStatus, str] = {
    RequestStatus.PENDING: "Awaiting your decision",
    RequestStatus.ACCEPTED: "Shared: uploading",
    RequestStatus.UPLOADED: "Shared and delivered",
    RequestStatus.FAILED: "Shared, but the upload failed",
    RequestStatus.DECLINED: "Declined: nothing shared",
    RequestStatus.EXPIRED: "Expired: nothing shared",
    RequestStatus.OUTSIDE_POLICY: "Outside your limits: not shown, nothing shared",
    RequestStatus.NO_CLIPS: "No clip in its time window: not shown, nothing shared",
    RequestStatus.NOT_HERE: "Not near this door: not shown, nothing shared",
}

# --- why a decision was refused (answered 409) -------------------------------------------

REFUSAL: Mapping[Refusal, str] = {
    Refusal.NOT_PENDING: "This request was already decided or has expired.",
    Refusal.EXPIRED: "This request has expired: nothing can be shared any more.",
    Refusal.CLIP_NOT_MATCHED: "That clip is not one of the request's matched clips.",
    Refusal.CLIP_CHANGED: "That clip changed or was deleted since the request matched it.",
    Refusal.CLIP_NOT_OFFERABLE: "That clip is never offered to agencies: it is simulated "
                                "or was recorded before the device's clock was set.",
    Refusal.REFUSED_BY_BOOK: "The request book refused this decision.",
}
REFUSAL_OTHER = "The decision was refused."


def refusal(reason: Refusal) -> str:
    return REFUSAL.get(reason, REFUSAL_OTHER)


# --- what was done, shown once after a form (`?done=`) -----------------------------------

class Done(StrEnum):
    SHARED = "shared"
    DECLINED = "declined"
    HELD = "held"
    RELEASED = "released"
    DELETED = "deleted"
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_REMOVED = "passkey_removed"
    NOTIFY_SAVED = "notify_saved"
    SNOOZED_HOUR = "snoozed_hour"
    SNOOZED_TOMORROW = "snoozed_tomorrow"
    SNOOZE_ENDED = "snooze_ended"


DONE: Mapping[Done, str] = {
    Done.SHARED: "Shared. The doorcam service uploads exactly the clips you ticked.",
    Done.DECLINED: "Declined. Nothing was shared and the agency is not told.",
    Done.HELD: "Clip held: retention will keep it.",
    Done.RELEASED: "Hold released.",
    Done.DELETED: "Clip deleted.",
    Done.PASSKEY_ADDED: "Passkey added.",
    Done.PASSKEY_REMOVED: "Passkey removed: it no longer signs in.",
    Done.NOTIFY_SAVED: "Saved: these kinds notify your browsers.",
    Done.SNOOZED_HOUR: "Snoozed for an hour.",
    Done.SNOOZED_TOMORROW: "Snoozed until tomorrow.",
    Done.SNOOZE_ENDED: "Snooze ended: notifications are on again.",
}
DONE_OTHER = "Done."


def done(value: str) -> str:
    """The notice for a `?done=` value; "" when there is none."""
    if not value:
        return ""
    try:
        return DONE[Done(value)]
    except ValueError:
        return DONE_OTHER


# --- the door's timeline: kinds of events, filters, empty days, the request banner -----

KIND: Mapping[EventKind, str] = {
    EventKind.RING: "Ring", EventKind.PERSON: "Person", EventKind.MOTION: "Motion"}
KIND_FILTER: Mapping[EventKind | None, str] = {
    None: "All", EventKind.RING: "Rings", EventKind.PERSON: "People",
    EventKind.MOTION: "Motion"}
NO_EVENTS: Mapping[EventKind | None, str] = {
    None: "Nothing happened at the door in this time.",
    EventKind.RING: "No one rang the doorbell in this time.",
    EventKind.PERSON: "No people were seen in this time.",
    EventKind.MOTION: "No motion was recorded in this time."}
BAD_KIND = "That is not a kind of event this device records (ring, motion{person})."
BAD_DAY = "That is not a day (expected YYYY-MM-DD)."
BAD_DAY_RANGE = "That day is outside the years 1970 to 9998: there are no events then."
BAD_CURSOR = "That page link is damaged: go back to the timeline."
EMPTY_STORE = ("No events yet. When someone rings or moves at the door, it appears here "
               "with a picture.")


# Sharing: the confirmation page comes first, always.
SHARE_NO_CLIP = "Tick at least one clip to share, or decline the request."


def mixed_letters(scripts: list[str], agency_id: str) -> str:
    """The warning under an agency's name whose letters come from alphabets that look alike
    (a Cyrillic "о" in a Latin name)."""
    shown = " and ".join(s.capitalize() for s in scripts)
    return (f"This agency's name mixes {shown} letters, some of which look alike: make sure "
            f"it is the agency you think (its registry id is {agency_id}).")


SHARE_UNCONFIRMED = ("Sharing needs the confirmation step: use the Share button on the page "
                     "that lists the clips and the agency.")
SHARE_NOT_PENDING = "This request was already decided or has expired."
SHARE_CLIP_GONE = ("That clip is not one of the request's matched clips, or it was deleted "
                   "since.")


def counted(n: object, one: str, many: str) -> str:
    """'1 clip', '3 clips'; a count the log does not have reads '? clips'."""
    return f"{n} {one if n == 1 else many}"


def events(n: int) -> str:
    return counted(n, "event", "events")


def clips(n: int) -> str:
    return counted(n, "clip", "clips")


def pending_banner(n: int, agency: str) -> str:
    if n == 1:
        return f"{agency} asks for footage from your camera: your decision is needed."
    return f"{n} agency requests for footage await your decision."


# --- the Notifications page: which kinds notify, and a snooze ------------------------------

KIND_NAME: Mapping[Kind, str] = {
    Kind.RING: "Doorbell rings",
    Kind.REQUEST: "Agency requests for footage",
    Kind.PERSON: "People at the door",
    Kind.MOTION: "Any motion at the door",
}
KIND_HINT: Mapping[Kind, str] = {
    Kind.RING: "With a current picture from the camera.",
    Kind.REQUEST: "Snoozed requests arrive when the snooze ends.",
    Kind.PERSON: "Clips in which the camera recognised a person.",
    Kind.MOTION: "Every clip; at most one push a minute.",
}


class NotifyPage:
    """The Notifications page's sentences (the template reads them from here)."""

    TITLE = "Notifications"
    INTRO = ("Choose what notifies the browsers you turned notifications on in, as "
             "{account}. Everyone in the household chooses for themselves.")
    BROWSERS_NONE = ("No browser gets notifications for {account} yet: turn them on on the "
                     "Device page.")
    BROWSERS_ONE = "1 browser gets notifications for {account}."
    BROWSERS_SOME = "{count} browsers get notifications for {account}."
    SAVE = "Save"
    SNOOZE_TITLE = "Snooze"
    SNOOZE_HELP = ("A snooze silences rings, people and motion; an agency request waits and "
                   "arrives when the snooze ends.")
    SNOOZE_HOUR = "Snooze for 1 hour"
    SNOOZE_TOMORROW = "Snooze until tomorrow"
    SNOOZED_UNTIL = "Notifications are snoozed until"
    SNOOZE_CANCEL = "End the snooze"
    PUSH_OFF = ("Notifications are off on this device. To get them, set [push] enabled = true "
                "and contact in the config.")
    BAD_KIND = "That is not a kind of notification: {name}."
    BAD_SNOOZE = "Choose a snooze of an hour or until tomorrow."
    BAD_UNTIL = ("The snooze's end is not a time within the next two days (the page sends "
                 "your browser's next midnight); reload the page and try again.")


# --- error pages -------------------------------------------------------------------------

ERROR_TITLE: Mapping[HTTPStatus, str] = {
    HTTPStatus.BAD_REQUEST: "That did not work",
    HTTPStatus.FORBIDDEN: "Refused",
    HTTPStatus.NOT_FOUND: "Not found",
    HTTPStatus.CONFLICT: "Not possible right now",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "Too large",
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: "Not accepted",
    HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE: "Not in the file",
    HTTPStatus.TOO_MANY_REQUESTS: "Too many attempts",
    HTTPStatus.SERVICE_UNAVAILABLE: "Not set up",
}
ERROR_TITLE_OTHER = "Something went wrong"

#: What an HTTP error says when the code raising it gave no words of its own.
ERROR_MESSAGE: Mapping[HTTPStatus, str] = {
    HTTPStatus.NOT_FOUND: "There is no such page.",
    HTTPStatus.METHOD_NOT_ALLOWED: "That is not how this page is used.",
}
ERROR_MESSAGE_OTHER = "The request could not be handled."
CRASH = ("Something went wrong on the device; nothing was changed. The service log has "
         "the details.")


def error_title(status: int) -> str:
    try:
        return ERROR_TITLE.get(HTTPStatus(status), ERROR_TITLE_OTHER)
    except ValueError:
        return ERROR_TITLE_OTHER


def error_message(status: int) -> str:
    try:
        return ERROR_MESSAGE.get(HTTPStatus(status), ERROR_MESSAGE_OTHER)
    except ValueError:
        return ERROR_MESSAGE_OTHER


# --- live video's plain-text answers to the player ----------------------------------------

class LiveAnswer(StrEnum):
    NOT_LOGGED_IN = "not_logged_in"
    CROSS_SITE = "cross_site"
    NOT_PUBLISHED = "not_published"
    NO_SUCH_FILE = "no_such_file"


LIVE: Mapping[LiveAnswer, str] = {
    LiveAnswer.NOT_LOGGED_IN: "You are not logged in: log in again to watch live video.",
    LiveAnswer.CROSS_SITE: "Live video and the snapshot are shown only on this doorcam's own "
                           "pages; this request came from another site and is refused.",
    LiveAnswer.NOT_PUBLISHED: "Not published (the camera is not running, or this part of the "
                              "stream is gone).",
    LiveAnswer.NO_SUCH_FILE: "There is no such live file.",
}


# --- the household access log ------------------------------------------------------------

ACCESS: Mapping[AccessKind, str] = {
    AccessKind.LOGIN: "logged in",
    AccessKind.LOGIN_FAILED: "failed to log in",
    AccessKind.LOCKED_OUT: "was locked out",
    AccessKind.GUESSING: "someone is guessing passwords: {failures} failed logins {paused}; "
                         "paused for {minutes:g} minutes",
    AccessKind.LOGOUT: "logged out",
    AccessKind.VIEWED: "played clip {clip}",
    AccessKind.DOWNLOADED: "downloaded clip {clip}",
    AccessKind.HELD: "held clip {clip}",
    AccessKind.RELEASED: "released the hold on clip {clip}",
    AccessKind.DELETED: "deleted clip {clip}",
    AccessKind.SHARED: "shared {n} with request {request}",
    AccessKind.DECLINED: "declined request {request}",
    AccessKind.ACCOUNT_ADDED: "account added (on the device)",
    AccessKind.PASSWORD_CHANGED: "password changed (on the device)",
    AccessKind.ACCOUNT_REMOVED: "account removed (on the device)",
    AccessKind.PASSKEY_ADDED: "added passkey \"{passkey}\"",
    AccessKind.PASSKEY_REMOVED: "removed passkey \"{passkey}\"",
    AccessKind.LIVE_STARTED: "started watching live video",
    AccessKind.LIVE_ENDED: "watched live video from {start} to {end} ({length})",
}
_FROM_ADDRESS = (AccessKind.LOGIN, AccessKind.LOGIN_FAILED, AccessKind.LOCKED_OUT)
#: What a "guessing" entry's run of failed logins paused (its `paused` detail).
GUESSING_PAUSED: Mapping[Pause, str] = {
    Pause.SOURCE: "from {addr}: password logins from there are",
    Pause.ACCOUNT: "to account {account} from browsers that never signed in to it (the last "
                   "from {addr}): those are",
    Pause.DEVICE: "to account {account} from a browser that signed in to it before (at "
                  "{addr}): that browser is",
}


def _detail(entry: AuditEntry) -> dict[str, Any]:
    try:
        detail = json.loads(entry.detail)
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


K = TypeVar("K", bound=StrEnum)


def _kind(kinds: type[K], value: str) -> K | None:
    try:
        return kinds(value)
    except ValueError:
        return None


def describe_access(entry: AuditEntry) -> tuple[str, str]:
    """(who, what happened) in words."""
    detail = _detail(entry)
    who = str(detail.get("account") or "someone")
    kind = _kind(AccessKind, entry.kind)
    if kind is None:
        return who, entry.kind
    shared = detail.get("clips") or []
    paused = ""
    if kind == AccessKind.GUESSING:
        who = "someone"
        pause = _kind(Pause, str(detail.get("paused")))
        paused = GUESSING_PAUSED[pause].format(account=detail.get("account", "?"),
                                               addr=detail.get("addr", "?")) if pause else ""
    start, end = _number(detail.get("from")), _number(detail.get("to"))
    minutes = _number(detail.get("minutes"))
    what = ACCESS[kind].format(clip=detail.get("clip", "?"), request=entry.request_id or "?",
                               n=clips(len(shared)), passkey=detail.get("passkey", "?"),
                               start=clock(start) if start else "?",
                               end=clock(end) if end else "?",
                               length=span(end - start) if start and end else "?",
                               paused=paused, failures=detail.get("failures", "?"),
                               minutes=minutes or 0)
    if kind == AccessKind.SHARED and shared:
        what += ": " + ", ".join(str(c) for c in shared)
    if detail.get("addr") and kind in _FROM_ADDRESS:
        what += f" from {detail['addr']}"
    return who, what


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


# --- the login form, while failed logins pause what it would count against -------------

PAUSED: Mapping[Pause, str] = {
    Pause.SOURCE: "Too many failed logins from your network: password logins from there are "
                  "paused for {minutes}. A browser that has signed in here before, or a "
                  "passkey, still works.",
    Pause.ACCOUNT: "Too many failed logins to this account from browsers it does not know: "
                   "they are paused for {minutes}. A browser that has signed in to it "
                   "before, or a passkey, still works.",
    Pause.DEVICE: "Too many failed logins from this browser: try again in {minutes}, or use "
                  "a passkey.",
}


def paused(pause: Pause, seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return PAUSED[pause].format(minutes=f"{minutes} minute{'s' if minutes != 1 else ''}")


# A push shows on a lock screen: no addresses (the Activity page has them).
GUESSING_PUSH = "Someone is guessing your doorcam password: logins from where they try are paused"


# --- the request audit log ---------------------------------------------------------------

def _was(version: object) -> str:
    return f" (was v{version})" if isinstance(version, int) and version > 0 else ""


def _valid_until(expires_at: object) -> str:
    if expires_at is None:
        return "with no expiry date"
    try:
        return f"valid until {when(datetime.fromisoformat(str(expires_at)).timestamp())}"
    except ValueError:
        return f"valid until {expires_at}"


def _in_use(version: object) -> str:
    if isinstance(version, int) and version > 0:
        return f"v{version} stays in use"
    return "agency requests are not handled until a valid registry is installed"


def _via(d: Mapping[str, Any]) -> str:
    channel = d.get("channel")
    if not channel:
        return ""
    return f" (from the {'web app' if channel == 'web' else channel})"


def _count(d: Mapping[str, Any]) -> int:
    clips = d.get("clips")
    return len(clips) if isinstance(clips, list) else clips if isinstance(clips, int) else 0


def _receipt(d: Mapping[str, Any]) -> str:
    if d.get("ok") is True:
        return (f"The agency signed a receipt for the "
                f"{counted(d.get('files', '?'), 'file', 'files')} it received, and it "
                "matches what was sent.")
    return (f"The agency's receipt is missing or does not match what was sent "
            f"({d.get('problem', '?')}); what was sent is unchanged.")


def _refused(d: Mapping[str, Any]) -> str:
    if d.get("reason") == UNWRITTEN:  # a flood, counted: see uplink.desk.refusals
        reasons = d.get("reasons")
        most = ", ".join(f"{r} ({n})" for r, n in reasons.items()) \
            if isinstance(reasons, dict) else "?"
        return (f"{d.get('count', '?')} more messages were refused within the hour and "
                f"counted here rather than one by one: {most}.")
    return f"A message was refused: {d.get('reason', '?')}."


AUDIT: Mapping[AuditKind, Callable[[Mapping[str, Any]], str]] = {
    AuditKind.RECEIVED: lambda d: f"Request received from {d.get('agency', 'an agency')}, "
                                  f"case {d.get('case', '?')} ({d.get('incident', '?')}).",
    AuditKind.REJECTED: _refused,
    AuditKind.SHOWN: lambda d: (f"Shown to you with "
                                f"{counted(_count(d), 'matching clip', 'matching clips')}; "
                                "they are held until you decide."),
    AuditKind.ACCEPTED: lambda d: f"You shared {clips(_count(d))}{_via(d)}.",
    AuditKind.DECLINED: lambda d: f"You declined{_via(d)}: nothing shared, the agency is "
                                  "not told.",
    AuditKind.EXPIRED: lambda d: "Expired without a decision: nothing shared.",
    AuditKind.UPLOADED: lambda d: "The shared clips were delivered to the agency.",
    AuditKind.FAILED: lambda d: f"The upload failed: "
                                f"{d.get('reason') or d.get('detail') or '?'}.",
    AuditKind.RECEIPT: _receipt,
    AuditKind.REGISTRY: lambda d: f"Agency registry v{d.get('version', '?')} installed"
                                  f"{_was(d.get('previous_version'))}.",
    AuditKind.REGISTRY_LOADED: lambda d: (
        f"The doorcam service took agency registry v{d.get('version', '?')} into use: "
        f"{counted(d.get('agencies', '?'), 'agency', 'agencies')}, "
        f"{_valid_until(d.get('expires_at'))}."),
    AuditKind.REGISTRY_REFUSED: lambda d: (
        f"An agency registry file was refused ({d.get('reason', '?')}); "
        f"{_in_use(d.get('in_use_version'))}."),
}


def describe_audit(entry: AuditEntry) -> str:
    kind = _kind(AuditKind, entry.kind)
    return AUDIT[kind](_detail(entry)) if kind is not None else entry.kind
