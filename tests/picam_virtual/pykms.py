"""Test stub: picamera2 imports pykms (its DRM/KMS preview) at start-up; no display here.

Only the names its import reads exist (format names as plain strings); using the preview
would fail, which is what we want.
"""

from typing import Any


class _Formats(type):
    def __getattr__(cls, name: str) -> Any:
        return name


class PixelFormat(metaclass=_Formats):
    pass
