"""/activity: the request audit log in words, and the household access log; both verified."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from device.web.call import Call, page
from device.web.pages.live import end_idle_views
from device.web.seen import SeenHead
from device.web.words import describe_access, describe_audit
from uplink.audit import AuditEntry, AuditProblem, AuditReport

SHOWN = 300  # newest entries listed per log


@dataclass(frozen=True)
class Line:
    seq: int
    at: float
    who: str
    what: str
    request_id: str | None


def _tail(entries: list[AuditEntry]) -> list[AuditEntry]:
    return list(reversed(entries[-SHOWN:]))


def _against_anchor(problems: list[AuditProblem]) -> list[AuditProblem]:
    # verify() names the check that failed first in each detail: "anchor ..." for ours.
    return [p for p in problems if p.detail.startswith("anchor ")]


@page
def activity(call: Call) -> Response:
    end_idle_views(call)  # live views that have ended are in the log before it is shown
    audit_lines: list[Line] = []
    audit_report: AuditReport | None = None
    seen: SeenHead | None = None
    lost: list[AuditProblem] = []
    with call.ctx.audit() as audit, call.ctx.seen() as heads:
        if audit is not None:
            seen = heads.last()
            audit_report = audit.verify(anchor=seen.anchor if seen else None)
            lost = _against_anchor(audit_report.problems)
            if audit_report.ok:
                heads.remember(*audit.head(), call.now)
            audit_lines = [Line(e.seq, e.at, "", describe_audit(e), e.request_id)
                           for e in _tail(list(audit.entries()))]
    with call.ctx.access() as access:
        access_report = access.verify()
        access_lines = []
        for e in _tail(list(access.entries())):
            who, what = describe_access(e)
            access_lines.append(Line(e.seq, e.at, who, what, e.request_id))
    return call.render("activity.html", audit_lines=audit_lines, audit_report=audit_report,
                       seen=seen, lost=lost,
                       access_lines=access_lines, access_report=access_report)
