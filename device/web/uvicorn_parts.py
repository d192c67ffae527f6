"""The parts of uvicorn the web app runs on, without uvicorn's command line.

uvicorn's package `__init__` imports its command line (`uvicorn.main`, and with it click:
1.6 MB of the web process's memory, which has a 60 MB budget) that a server started from
Python never uses. The package is entered here without running that `__init__`; its own
modules import each other by full name, and the two names they take from the package
(`Config`, `Server`) are set on it."""

from __future__ import annotations

import importlib.util
import sys
import types


def _enter_package() -> None:
    if "uvicorn" in sys.modules:
        return
    spec = importlib.util.find_spec("uvicorn")
    if spec is None or spec.submodule_search_locations is None:
        return  # not installed: the imports below fail as they would anyway
    package = types.ModuleType("uvicorn", "uvicorn, entered without its command line")
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    sys.modules["uvicorn"] = package


_enter_package()

from uvicorn.config import Config  # noqa: E402
from uvicorn.protocols.http.h11_impl import H11Protocol  # noqa: E402
from uvicorn.server import Server  # noqa: E402

for _name, _value in (("Config", Config), ("Server", Server)):
    if not hasattr(sys.modules["uvicorn"], _name):
        setattr(sys.modules["uvicorn"], _name, _value)

__all__ = ["Config", "H11Protocol", "Server"]
