"""The agency side, for tests, demos and agencies trying doorcam: keys, a signed registry,
signed requests, publishing them, and an inbox that verifies received evidence."""

from uplink.agency.compose import (
    AgencySpec,
    compose_request,
    owner_decision,
    sign_registry,
)
from uplink.agency.inbox import EvidenceInbox

__all__ = ["AgencySpec", "EvidenceInbox", "compose_request", "owner_decision", "sign_registry"]
