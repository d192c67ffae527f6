"""Every word the owner reads about notifications: the pushes themselves and the
Notifications page. (One place, so a translation or a rewording touches one file.)"""

from __future__ import annotations

from device.web.push.kinds import Kind

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

# The settings page.
KIND_NAMES = {
    Kind.RING: "Doorbell rings",
    Kind.REQUEST: "Agency requests for footage",
    Kind.PERSON: "People at the door",
    Kind.MOTION: "Any motion at the door",
}
KIND_HINTS = {
    Kind.RING: "With a current picture from the camera.",
    Kind.REQUEST: "Snoozed requests arrive when the snooze ends.",
    Kind.PERSON: "Clips in which the camera recognised a person.",
    Kind.MOTION: "Every clip; at most one push a minute.",
}
PAGE_TITLE = "Notifications"
SAVED = "Saved: these kinds notify {account}'s browsers."
SNOOZED_HOUR = "Snoozed for an hour."
SNOOZED_TOMORROW = "Snoozed until tomorrow."
SNOOZE_ENDED = "Snooze ended: notifications are on again."
BAD_KIND = "That is not a kind of notification: {name}."
BAD_SNOOZE = "Choose a snooze of an hour or until tomorrow."
BAD_UNTIL = ("The snooze's end is not a time within the next two days (the page sends your "
             "browser's next midnight); reload the page and try again.")
PUSH_OFF = ("Notifications are off on this device. To get them, set [push] enabled = true "
            "and contact in the config.")


def request(agency: str) -> str:
    return REQUEST.format(agency=agency or AN_AGENCY)

# The Notifications page's own sentences (the template reads them from here).
INTRO = ("Choose what notifies the browsers you turned notifications on in, as {account}. "
         "Everyone in the household chooses for themselves.")
BROWSERS_NONE = "No browser gets notifications for {account} yet: turn them on on the Device page."
BROWSERS_SOME = "{count} browser(s) get notifications for {account}."
SAVE = "Save"
SNOOZE_TITLE = "Snooze"
SNOOZE_HELP = ("A snooze silences rings, people and motion; an agency request waits and "
               "arrives when the snooze ends.")
SNOOZE_HOUR = "Snooze for 1 hour"
SNOOZE_TOMORROW = "Snooze until tomorrow"
SNOOZED_UNTIL = "Notifications are snoozed until"
SNOOZE_CANCEL = "End the snooze"
