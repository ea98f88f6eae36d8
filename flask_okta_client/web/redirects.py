"""Where a user may be sent after signing in: only paths on this site."""

from __future__ import annotations

from urllib.parse import urlsplit


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
