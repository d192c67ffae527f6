"""Clip files over HTTP with byte ranges (206 + Content-Range), so a <video> can seek.

Sent `no-store`: a clip deleted on the device, or viewed before logging out, must not stay
readable in the browser's cache."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import StreamingResponse

CHUNK = 256 * 1024
_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.ASCII)
# Longer than any file offset: read as "past the end" without parsing thousands of digits.
_MAX_DIGITS = 18


def _offset(digits: str) -> int:
    significant = digits.lstrip("0") or "0"
    return int(significant) if len(significant) <= _MAX_DIGITS else 10**_MAX_DIGITS


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte, inclusive; None means the whole file. HTTPException 416 when the
    header asks for nothing this file has or is not one `bytes=` range."""
    header = header.strip()
    if not header:
        return None
    m = _RANGE.fullmatch(header)
    if m is None or (not m.group(1) and not m.group(2)):
        raise HTTPException(416, "The Range header is not one byte range "
                                 "(expected bytes=START-END, bytes=START- or bytes=-LENGTH).",
                            headers={"Content-Range": f"bytes */{size}"})
    if not m.group(1):  # suffix: the last N bytes
        length = _offset(m.group(2))
        if length == 0 or size == 0:
            raise HTTPException(416, "The range asks for no bytes.",
                                headers={"Content-Range": f"bytes */{size}"})
        return max(0, size - length), size - 1
    first = _offset(m.group(1))
    last = _offset(m.group(2)) if m.group(2) else size - 1
    if first >= size or last < first:
        raise HTTPException(416, f"The range {header[6:60]} is outside this {size}-byte file.",
                            headers={"Content-Range": f"bytes */{size}"})
    return first, min(last, size - 1)


def file_response(path: Path, range_header: str, media_type: str, *,
                  download_name: str | None = None) -> StreamingResponse:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise HTTPException(404, "The clip's file is gone (deleted or removed by retention)."
                            ) from None
    try:
        size = os.fstat(fd).st_size
        wanted = parse_range(range_header, size)
    except BaseException:
        os.close(fd)
        raise
    first, last = wanted if wanted is not None else (0, size - 1)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(max(0, last - first + 1)),
               "Cache-Control": "no-store"}
    if download_name:
        headers["Content-Disposition"] = f'attachment; filename="{download_name}"'
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return StreamingResponse(_chunks(fd, first, last), status_code=status, headers=headers,
                             media_type=media_type)


async def _chunks(fd: int, first: int, last: int) -> AsyncIterator[bytes]:
    try:
        pos = first
        while pos <= last:
            data = await run_in_threadpool(os.pread, fd, min(CHUNK, last - pos + 1), pos)
            if not data:
                break
            pos += len(data)
            yield data
    finally:
        os.close(fd)
