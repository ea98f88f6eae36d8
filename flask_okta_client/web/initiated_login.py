"""Third-party-initiated login (OpenID Connect Core 1.0 §4; Okta's "Initiate login URI").

The provider (or a portal) sends the browser to ``/login?iss=...&target_link_uri=...&login_hint=...``.
``iss`` must name this site's provider and ``target_link_uri`` a page of this site, so the
route can be neither pointed at another provider nor used as an open redirect.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..errors import LoginError
from .login_options import single
from .redirects import safe_next_url

if TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

#: What an initiating party may send; anything else is ignored (§4: "MUST be ignored").
INITIATED_LOGIN_PARAMS = ("iss", "target_link_uri", "login_hint")
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_TARGET_LENGTH = 2048


def is_initiated_login(args: MultiDict[str, str]) -> bool:
    return "iss" in args


def accepted_issuers(issuer: str) -> set[str]:
    """The configured issuer; for an Okta custom authorization server (``/oauth2/…``) also its
    org URL, which Okta sends as ``iss`` when a user opens the app from the Okta dashboard."""
    accepted = {issuer.rstrip("/")}
    parts = urlsplit(issuer)
    if "/oauth2/" in parts.path + "/":
        accepted.add(f"{parts.scheme}://{parts.netloc}")
    return accepted


def origin_of(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an absolute http(s) URL without user info; ``None`` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or "@" in parts.netloc:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def target_path(target_link_uri: str, site_origins: Iterable[str]) -> str:
    """The path (and query) on this site that ``target_link_uri`` names.

    A path is taken as it is; an absolute URL must have one of ``site_origins``
    (its fragment is dropped). Anything else is refused with 400.
    """
    if len(target_link_uri) > MAX_TARGET_LENGTH:
        raise LoginError("The target_link_uri parameter is too long.")
    if target_link_uri.startswith("/"):
        path = safe_next_url(target_link_uri)
    else:
        origin = origin_of(target_link_uri)
        if origin is None or origin not in {origin_of(site) for site in site_origins}:
            raise LoginError("The target_link_uri parameter must be a page of this site.")
        parts = urlsplit(target_link_uri)
        path = safe_next_url((parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
    if path is None:
        raise LoginError("The target_link_uri parameter must be a page of this site.")
    return path


def initiated_login_target(args: MultiDict[str, str], *, issuer: str, site_origins: Iterable[str]) -> str | None:
    """Check ``iss``; the page to land on (from ``target_link_uri``), if one was named."""
    iss = single(args, "iss")
    if iss is None or iss.rstrip("/") not in accepted_issuers(issuer):
        raise LoginError("This sign-in was started for another sign-in service (iss).", error="invalid_issuer")
    target = single(args, "target_link_uri")
    return target_path(target, site_origins) if target else None
