"""Whether an accepted request may still be sent, by the agency registry in force now.

The upload host was checked against the registry when the request came in. A registry
installed since then can drop the agency, drop that host from its `upload_hosts` or revoke
the key the request was signed with (a stolen key, a taken-over server): then nothing more of
the evidence goes, even though the owner accepted before the change.
"""

from __future__ import annotations

from uplink.desk.book import RequestRow
from uplink.errors import PermanentUploadError, RequestRejected, TransientUploadError
from uplink.protocol.request import parse_request
from uplink.protocol.urls import check_upload_url
from uplink.protocol.validator import AgencyDirectory


def check_standing(request: RequestRow, directory: AgencyDirectory | None, *,
                   allow_insecure_loopback: bool) -> None:
    """PermanentUploadError when the registry no longer backs this request's destination;
    TransientUploadError when no registry can be read now (nothing is sent without one)."""
    rid = request.request_id
    if directory is None:
        raise TransientUploadError(f"request {rid}: no valid agency registry to check its "
                                   "destination against; nothing sent until there is one")
    try:
        agency = directory.agency(request.agency_id)
    except RequestRejected as exc:  # e.g. the registry in force has expired
        raise TransientUploadError(f"request {rid}: {exc.detail}; nothing sent") from None
    if agency is None:
        raise PermanentUploadError(f"request {rid}: agency {request.agency_id!r} is no longer "
                                   "in the agency registry; nothing more is sent")
    try:
        check_upload_url(request.upload_url, agency.upload_hosts,
                         allow_insecure_loopback=allow_insecure_loopback)
    except RequestRejected as exc:
        raise PermanentUploadError(f"request {rid}: the agency registry no longer allows its "
                                   f"destination ({exc.detail}); nothing more is sent") from None
    if request.document is None:
        return  # stored before the signed request was kept: its key is not known here
    try:
        kid = parse_request(request.document).kid
    except RequestRejected:
        raise PermanentUploadError(f"request {rid}: its stored request is unreadable; "
                                   "nothing more is sent") from None
    key = agency.keys.get(kid)
    if key is None or key.revoked:
        why = "revoked" if key is not None else "no longer listed"
        raise PermanentUploadError(f"request {rid}: the key {kid!r} that signed it is {why} "
                                   "in the agency registry; nothing more is sent")
