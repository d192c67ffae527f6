"""Why the owner's tool refuses what it read from the home broker."""

from __future__ import annotations

from enum import StrEnum

from uplink.errors import UplinkError


class ViewProblem(StrEnum):
    NONE_SEEN = "none_seen"  # no view arrived within the wait
    NOT_GENUINE = "not_genuine"  # not sealed to this owner or not signed by the pinned key
    ROLLED_BACK = "rolled_back"  # older than the audit head the owner saw before
    LOG_CUT = "log_cut"  # the audit head does not extend the one the owner saw before
    BEHIND = "behind"  # older than the device's own newest audit head read with it


class ViewRefused(UplinkError):
    """The device's view cannot be shown; `problem` says why, `detail` in words."""

    def __init__(self, problem: ViewProblem, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail
