"""A ``requests.Session`` that calls one API with this site's access tokens, and sends them nowhere else.

Each request gets the current token from a *token source* (which refreshes it
when it is due) and, for a DPoP-bound token, a fresh proof. A ``401`` answer
is retried once when a retry can succeed: after ``invalid_token`` with a token
obtained anew, after ``use_dpop_nonce`` with the nonce the API sent. A 401 means
the API refused the request before acting on it, so any method is retried,
but only when its body can be sent again (none, bytes or text; never a stream).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urljoin

import requests

from .dpop import DPoPSigner, origin_of
from .http import USER_AGENT

#: ``token_source(force_new)``: the access token and its type (``Bearer`` or ``DPoP``);
#: ``force_new`` asks for a new token (refreshed, exchanged again, fetched again).
TokenSource = Callable[[bool], tuple[str, str]]

_CHALLENGE_ERROR = re.compile(r'error="?([A-Za-z0-9_]+)')


class ForeignOriginError(ValueError):
    """A request to a host the session is not for: its tokens must not go there."""


def challenge_error(response: requests.Response) -> str | None:
    """The ``error`` of a ``401``'s ``WWW-Authenticate`` challenge, if any."""
    if response.status_code != 401:
        return None
    found = _CHALLENGE_ERROR.search(response.headers.get("WWW-Authenticate", ""))
    return found.group(1) if found else None


def resendable(request: requests.PreparedRequest) -> bool:
    return request.body is None or isinstance(request.body, (bytes, str))


class ApiSession(requests.Session):
    """Calls the API at ``base_url`` (relative URLs are joined to it) with tokens from ``token_source``.

    Requests to any origin other than ``base_url``'s (and ``allowed_origins``)
    raise :class:`ForeignOriginError`; a redirect to another origin is followed
    without the token.
    """

    def __init__(self, base_url: str, token_source: TokenSource, *, dpop: DPoPSigner | None = None,
                 timeout: float = 10.0, allowed_origins: Collection[str] = ()) -> None:
        super().__init__()
        self.base_url = base_url
        self.origins = frozenset({origin_of(base_url), *(origin_of(origin) for origin in allowed_origins)})
        self.token_source = token_source
        self.dpop = dpop
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT
        if dpop is not None:
            self.hooks["response"].append(dpop.remember_nonce)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        target = urljoin(self.base_url, url.decode() if isinstance(url, bytes) else url)
        if origin_of(target) not in self.origins:
            raise ForeignOriginError(f"this API session sends tokens only to {', '.join(sorted(self.origins))}; "
                                     f"refusing a request to {origin_of(target)}")
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, target, *args, **kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.headers.pop("Authorization", None)
        request.headers.pop("DPoP", None)
        if origin_of(request.url or "") not in self.origins:
            return super().send(request, **kwargs)  # a redirect elsewhere: no token
        token, token_type = self.token_source(False)
        response = super().send(self._authorized(request, token, token_type), **kwargs)
        retried: set[str] = set()
        while resendable(request):
            error = challenge_error(response)
            if error == "use_dpop_nonce" and token_type == "DPoP" and "use_dpop_nonce" not in retried:
                retried.add(error)  # the nonce was remembered by the response hook
            elif error == "invalid_token" and error not in retried:
                retried.add(error)
                fresh, token_type = self.token_source(True)
                if fresh == token:
                    break
                token = fresh
            else:
                break
            response.close()
            response = super().send(self._authorized(request, token, token_type), **kwargs)
        return response

    def _authorized(self, request: requests.PreparedRequest, token: str, token_type: str) -> requests.PreparedRequest:
        if token_type == "DPoP" and self.dpop is not None:
            request.headers["Authorization"] = f"DPoP {token}"
            request.headers.update(self.dpop.headers(request.method or "GET", request.url or "", token))
        else:
            request.headers["Authorization"] = f"Bearer {token}"
        return request
