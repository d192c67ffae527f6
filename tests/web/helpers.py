"""HTTP helpers for the web tests: log in, read a page's CSRF token, post a form."""

from __future__ import annotations

import re
from typing import Any

import requests

from tests.web.world import PASSWORD

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')


def try_login(s: requests.Session, url: str, name: str, password: str) -> requests.Response:
    page = s.get(f"{url}/login")
    m = LOGIN_TOKEN.search(page.text)
    assert m, page.text
    return s.post(f"{url}/login", data={"login_token": m.group(1), "name": name,
                                        "password": password, "next": "/"},
                  headers={"Origin": url}, allow_redirects=False)


def login(s: requests.Session, url: str, name: str = "alex",
          password: str = PASSWORD) -> str:
    """Log in; the CSRF token of the new session."""
    r = try_login(s, url, name, password)
    assert r.status_code == 303, r.text
    return csrf(s, url)


def csrf(s: requests.Session, url: str, path: str = "/") -> str:
    m = CSRF.search(s.get(url + path).text)
    assert m
    return m.group(1)


def post(s: requests.Session, url: str, path: str, data: dict[str, Any], *,
         origin: str | None = None, **kw: Any) -> requests.Response:
    """A same-origin form post, as a browser sends it (Sec-Fetch-Site and Origin)."""
    headers = {"Origin": origin or url,
               "Sec-Fetch-Site": "same-origin" if origin is None else "cross-site"}
    headers.update(kw.pop("headers", {}))
    return s.post(url + path, data=data, headers=headers, allow_redirects=False, **kw)
