"""Reading a script's JSON post: its content type, a bounded body, parsed (one way for every
JSON endpoint of the app; each answers a bad body with one plain line)."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.requests import Request


async def read_json(request: Request, limit: int, what: str = "the body") -> object:
    """The parsed body; 415 unless application/json, 413 over `limit` bytes, 400 if not
    JSON. `what` names the body in the answers ("the subscription")."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise HTTPException(415, f"Send {what} as application/json (the page's script does).")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"{what[0].upper()}{what[1:]} is over {limit} bytes.")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise HTTPException(400, "The body is not JSON.") from None
