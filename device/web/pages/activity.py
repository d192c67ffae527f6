"""/activity: the request audit log in words, and the household access log; both verified."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.responses import Response

from device.web.access import describe_access
from device.web.call import Call, page
from device.web.seen import SeenHead
from device.web.timefmt import when
from uplink.audit import AuditEntry, AuditProblem, AuditReport

SHOWN = 300  # newest entries listed per log


@dataclass(frozen=True)
class Line:
    seq: int
    at: float
    who: str
    what: str
    request_id: str | None


def describe_audit(e: AuditEntry) -> str:
    try:
        d: dict[str, Any] = json.loads(e.detail)
    except ValueError:
        d = {}
    via = f" (from the {'web app' if d.get('channel') == 'web' else d.get('channel')})" \
        if d.get("channel") else ""
    clips = d.get("clips")
    n = len(clips) if isinstance(clips, list) else clips if isinstance(clips, int) else 0
    return {
        "received": f"Request received from {d.get('agency', 'an agency')}, case "
                    f"{d.get('case', '?')} ({d.get('incident', '?')}).",
        "rejected": f"A message was refused: {d.get('reason', '?')}.",
        "shown": f"Shown to you with {n} matching clip(s); they are held until you decide.",
        "accepted": f"You shared {n} clip(s){via}.",
        "declined": f"You declined{via}: nothing shared, the agency is not told.",
        "expired": "Expired without a decision: nothing shared.",
        "uploaded": "The shared clips were delivered to the agency.",
        "failed": f"The upload failed: {d.get('reason') or d.get('detail') or '?'}.",
        "receipt": (f"The agency signed a receipt for the {d.get('files', '?')} file(s) it "
                    "received, and it matches what was sent." if d.get("ok") is True else
                    f"The agency's receipt is missing or does not match what was sent "
                    f"({d.get('problem', '?')}); what was sent is unchanged."),
        "registry": f"Agency registry v{d.get('version', '?')} installed"
                    f"{_was(d.get('previous_version'))}.",
        "registry_loaded": f"The doorcam service took agency registry v{d.get('version', '?')} "
                           f"into use: {d.get('agencies', '?')} agency(ies), "
                           f"{_valid_until(d.get('expires_at'))}.",
        "registry_refused": f"An agency registry file was refused ({d.get('reason', '?')}); "
                            f"{_in_use(d.get('in_use_version'))}.",
    }.get(e.kind, e.kind)


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


def _tail(entries: list[AuditEntry]) -> list[AuditEntry]:
    return list(reversed(entries[-SHOWN:]))


def _against_anchor(problems: list[AuditProblem]) -> list[AuditProblem]:
    # verify() names the check that failed first in each detail: "anchor ..." for ours.
    return [p for p in problems if p.detail.startswith("anchor ")]


@page
def activity(call: Call) -> Response:
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
