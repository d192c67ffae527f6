"""Asking the agency for its signed receipt once the evidence is delivered."""

from __future__ import annotations

import time

from uplink.errors import UploadError
from uplink.protocol.receipt import receipt_url
from uplink.upload.tus import TUS_VERSION, TusClient
from uplink.upload.urls import check_url


def fetch_receipt(client: TusClient, upload_url: str, request_id: str,
                  hosts: frozenset[str]) -> bytes | str:
    """The receipt's bytes, or why there is none (one try: delivery does not depend on it)."""
    url = receipt_url(upload_url, request_id)
    try:
        check_url(url, allowed_hosts=hosts,
                  allow_insecure_loopback=client.cfg.allow_insecure_loopback)
        resp = client.transport.request("GET", url, {"Tus-Resumable": TUS_VERSION}, None,
                                        time.monotonic() + client.cfg.call_deadline_s)
    except (UploadError, OSError) as exc:
        return f"no receipt: {exc}"[:200]
    if resp.status != 200:
        return f"no receipt: GET {url} answered {resp.status}"
    return resp.body
