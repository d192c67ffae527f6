"""The clip id: UTC start time to the second and 32 random bits, e.g. 20261201T113000Z-1a2b3c4d.

The store makes them; the request book, decisions and the evidence inbox check them, since
a clip id ends up in file names."""

from __future__ import annotations

import re

CLIP_ID_PATTERN = re.compile(r"[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}", re.ASCII)
