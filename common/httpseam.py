"""The two-method HTTP seam both outgoing transports implement (the uploader's over
requests, Web Push's over http.client): one exchange bounded by an absolute deadline."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol


class Headers(Mapping[str, str]):
    """Read-only response headers with case-insensitive lookup."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items = {k.lower(): (k, v) for k, v in (items or {}).items()}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass(frozen=True)
class Response:
    """Status, headers and at most the transport's body cap of body of one HTTP exchange."""

    status: int
    headers: Mapping[str, str] = field(default_factory=Headers)
    body: bytes = b""


class Transport(Protocol):
    """Sends one request; `deadline` is an absolute `time.monotonic()` value."""

    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
        deadline: float,
    ) -> Response: ...

    def close(self) -> None: ...
