"""The owner's side of the owner channel, as `uplink.agency` is the agency's: reading the
device's sealed view (verified against the pinned device key, the anchor and the audit head
read with it) and making a decision sealed to the device. Runs on the owner's machine."""

from uplink.owner.anchor import Anchor
from uplink.owner.decide import CannotDecide, Pending, SealedDecision, decide, verified
from uplink.owner.errors import ViewProblem, ViewRefused
from uplink.owner.view import DeviceView, Reader, current_view, read_view

__all__ = [
    "Anchor",
    "CannotDecide",
    "DeviceView",
    "Pending",
    "Reader",
    "SealedDecision",
    "ViewProblem",
    "ViewRefused",
    "current_view",
    "decide",
    "read_view",
    "verified",
]
