"""The sign-in cookie: a cookie of its own beside Flask's session, read when the sign-in is used.

It holds a sealed sign-in (cookie store) or a random handle (server-side
stores). A value too big for one cookie is split into ``name.0``, ``name.1``…
It is written back, with the app's session-cookie attributes, only when this
request changed it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Flask, Response, current_app, request, session

from ..errors import ConfigError

log = logging.getLogger("flask_okta_client")

# Where the request's SignInCookie of each name is kept: the WSGI environ lives exactly as long as the request.
ENVIRON_KEY = "flask_okta_client.cookie:"
# Where earlier versions kept the sign-in, inside Flask's session.
LEGACY_SESSION_KEY = "_okta"
# Browsers keep cookies of up to 4096 bytes, name and attributes included.
CHUNK_SIZE = 3800
# More than this many chunks make a Cookie header that many servers refuse (8 KB limits).
CHUNK_WARNING = 2


@dataclass(frozen=True)
class CookieSettings:
    """The sign-in cookie's name and attributes: those of the app's session cookie."""

    name: str
    domain: str | None
    path: str
    httponly: bool
    secure: bool
    samesite: str | None
    partitioned: bool

    @classmethod
    def for_app(cls, app: Flask, name: str) -> CookieSettings:
        """Browsers keep a ``__Secure-`` or ``__Host-`` cookie only if it is ``Secure``, and
        a ``__Host-`` one only with ``Path=/`` and no ``Domain``."""
        interface = app.session_interface
        domain, path = interface.get_cookie_domain(app), interface.get_cookie_path(app)
        if name.startswith("__Host-") and (domain or path != "/"):
            raise ConfigError("OKTA_SESSION_COOKIE_NAME starts with __Host-, which browsers accept only "
                              "without SESSION_COOKIE_DOMAIN and with SESSION_COOKIE_PATH '/'")
        return cls(
            name=name,
            domain=domain,
            path=path,
            httponly=interface.get_cookie_httponly(app),
            secure=interface.get_cookie_secure(app) or name.startswith(("__Secure-", "__Host-")),
            samesite=interface.get_cookie_samesite(app),
            partitioned=bool(app.config.get("SESSION_COOKIE_PARTITIONED")),
        )


class SignInCookie:
    """This request's sign-in cookie: what the browser sent, and what to send back."""

    def __init__(self, sent: str | None, sent_names: frozenset[str] = frozenset(),
                 legacy: object = None) -> None:
        self.value = sent
        self.sent_names = sent_names
        #: What an earlier version left in Flask's session (removed from it when read).
        self.legacy = legacy
        self.changed = False
        self._superseded_by: Callable[[], str | None] | None = None

    def set(self, value: str, superseded_by: Callable[[], str | None] | None = None) -> None:
        """Send ``value`` back. ``superseded_by`` is asked again when the response is written:
        a value it returns by then (a sign-in another request refreshed meanwhile) is sent instead."""
        self.value = value
        self._superseded_by = superseded_by
        self.changed = True

    def clear(self) -> None:
        self.value = None
        self._superseded_by = None
        self.changed = True

    def outgoing(self) -> str | None:
        """The value this response sends back, as of now."""
        if self._superseded_by is not None:
            self.value = self._superseded_by() or self.value
        return self.value


def chunk_names(name: str, cookies: Mapping[str, str]) -> list[str]:
    """``name.0``, ``name.1``… as long as the browser sent them."""
    names = []
    while f"{name}.{len(names)}" in cookies:
        names.append(f"{name}.{len(names)}")
    return names


def read(name: str, cookies: Mapping[str, str], legacy: bool = True) -> SignInCookie:
    """The sign-in cookie among ``cookies`` (joined from its chunks if it was split); with
    ``legacy``, what an earlier version kept in Flask's session (that version had one registration)."""
    sent = cookies.get(name)
    names = [name] if sent is not None else []
    if sent is None:
        names = chunk_names(name, cookies)
        sent = "".join(cookies[n] for n in names) or None
    if sent is None and legacy and LEGACY_SESSION_KEY in session:
        return SignInCookie(None, legacy=session.pop(LEGACY_SESSION_KEY))
    return SignInCookie(sent, frozenset(names))


def request_cookie(name: str, legacy: bool = True) -> SignInCookie:
    """This request's sign-in cookie called ``name``, read on first use."""
    environ = request.environ
    key = ENVIRON_KEY + name
    cookie = environ.get(key)
    if cookie is None:
        cookie = environ[key] = read(name, request.cookies, legacy)
    return cookie


def split(name: str, value: str) -> dict[str, str]:
    """Cookie names and values carrying ``value``: one cookie, or chunks of ``CHUNK_SIZE``."""
    if len(value) <= CHUNK_SIZE:
        return {name: value}
    return {f"{name}.{i}": value[start:start + CHUNK_SIZE]
            for i, start in enumerate(range(0, len(value), CHUNK_SIZE))}


class CookieWriter:
    """Sends a changed sign-in cookie back; an ``after_request`` hook."""

    def __init__(self, settings: CookieSettings) -> None:
        self.settings = settings
        self.warned = False

    def __call__(self, response: Response) -> Response:
        cookie: SignInCookie | None = request.environ.get(ENVIRON_KEY + self.settings.name)
        if cookie is None:
            return response
        response.vary.add("Cookie")
        if cookie.changed:
            self.write(response, cookie)
        return response

    def write(self, response: Response, cookie: SignInCookie) -> None:
        settings = self.settings
        attributes = {
            "domain": settings.domain,
            "path": settings.path,
            "secure": settings.secure or request.is_secure,
            "httponly": settings.httponly,
            "samesite": settings.samesite,
            "partitioned": settings.partitioned,
        }
        value = cookie.outgoing()
        values = split(settings.name, value) if value is not None else {}
        if len(values) > CHUNK_WARNING and not self.warned:
            self.warned = True
            log.warning(
                "okta: the sign-in needs %d cookies (%d bytes); servers and proxies often refuse request "
                "headers over 8 KB, so set OKTA_TOKEN_STORE to a redis:// URL or a directory to keep "
                "tokens on the server", len(values), len(value or ""),
            )
        for name in cookie.sent_names - values.keys():
            response.delete_cookie(name, **attributes)
        # Kept as long as Flask's session cookie (longer when ``session.permanent``).
        expires = current_app.session_interface.get_expiration_time(current_app, session)
        for name, value in values.items():
            response.set_cookie(name, value, expires=expires, **attributes)

