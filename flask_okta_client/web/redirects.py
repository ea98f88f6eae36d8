"""Where a user may be sent after signing in: only paths on this site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request


def safe_next_url(candidate: str | None) -> str | None:
    """``candidate`` if it is a relative path on this site, else ``None``.

    Refuses scheme-relative (``//host``), backslash (``/\\host``), absolute and
    control-character tricks that browsers would turn into another origin.
    """
    if not candidate or len(candidate) > 2048 or not candidate.startswith("/"):
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in candidate) or "\\" in candidate:
        return None
    if candidate.startswith("//"):
        return None
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return None
    return candidate


def relative_request_url() -> str:
    """This request's path on the site (the app's mount point included) and query,
    to come back to after signing in."""
    path = request.script_root + request.path
    query = request.query_string.decode("latin-1")
    return f"{path}?{query}" if query else path
