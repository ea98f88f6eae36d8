"""Calls to the provider's token, revocation, introspection and UserInfo endpoints.

The OAuth 2.0 protocol and client authentication are Authlib's; this module
adds timeouts, maps every failure onto our error hierarchy and logs what
happened without tokens or secrets. Transport failures, ``429`` and ``5xx`` answers
never reach Authlib: the sessions' :class:`~.http.ProviderAdapter` raises
:class:`ProviderUnavailable` first, so a rate-limit body is never read as a token
response or an OAuth error. No call here is retried.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.client import DEFAULT_HEADERS

from ..config import OktaConfig
from ..errors import LoginError, OktaError, ProviderError, ProviderUnavailable
from .client_auth import client_auth_methods
from .discovery import MetadataCache
from .dpop import DPoPSigner
from .http import HttpClient, endpoint_name, json_object, provider_session
from .transport_errors import describe_transport_error

log = logging.getLogger("flask_okta_client")

# OAuth error codes that mean the provider is in trouble, not the request.
UNAVAILABLE_ERRORS = frozenset({"temporarily_unavailable", "server_error"})
# OAuth error codes that mean this site's registration or configuration is wrong.
CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client", "unsupported_grant_type"})
#: Token types this client can use, lowercase (RFC 6749 §7.1); with DPoP only "dpop" (RFC 9449 §5).
BEARER_ONLY = frozenset({"bearer"})
DPOP_ONLY = frozenset({"dpop"})
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


class GrantError(OktaError):
    """The provider refused a grant (``invalid_grant``, ``invalid_scope``…)."""

    status = 400
    title = "The sign-in service refused the request"


@contextmanager
def provider_call(what: str, url: str) -> Iterator[None]:
    """Translate transport, HTTP and OAuth failures of one call into our errors."""
    try:
        yield
    except ProviderUnavailable as exc:  # from the transport adapter: logged here, where the call is named
        log.warning("okta: %s at %s failed: %s", what, endpoint_name(url), exc.reason)
        raise
    except requests.HTTPError as exc:  # Authlib's, for an error status without a JSON body
        status = exc.response.status_code if exc.response is not None else "?"
        log.warning("okta: %s at %s answered %s without a JSON body", what, endpoint_name(url), status)
        raise ProviderUnavailable() from None
    except requests.RequestException as exc:  # raised before sending, e.g. an unusable URL
        log.warning("okta: %s at %s failed: %s", what, endpoint_name(url), describe_transport_error(exc))
        raise ProviderUnavailable() from exc
    except OAuthError as exc:
        raise oauth_error(what, url, exc.error, exc.description) from None
    except ValueError:
        log.warning("okta: %s at %s answered with a body that is not a JSON object", what, endpoint_name(url))
        raise ProviderError("The sign-in service sent an answer that could not be read.") from None


def json_object_or_http_error(response: requests.Response) -> dict[str, Any]:
    """A token answer's JSON object. One whose body is not a JSON object raises its HTTP error if its
    status is one, else ``ValueError``: what Authlib 1.9 does, kept here for every Authlib version allowed."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        response.raise_for_status()
        raise ValueError("the token endpoint's answer is not a JSON object")
    return body


def oauth_error(what: str, url: str, error: str | None, description: str | None) -> OktaError:
    """The exception for an OAuth error response, logged with its code."""
    log.warning("okta: %s at %s refused: %s (%s)", what, endpoint_name(url), error, description or "")
    if error in UNAVAILABLE_ERRORS:
        return ProviderUnavailable()
    if error in CLIENT_ERRORS:
        return ProviderError("The sign-in service refused this site's credentials.", error=error)
    return GrantError(description or "The sign-in service refused the request.", error=error or "invalid_request")


def malformed_token_field(token: Mapping[str, Any]) -> str | None:
    """The first field of a token response with the wrong type, if any: the tokens and ``scope``
    are strings, ``expires_in`` a finite, non-negative number of seconds (RFC 6749 §5.1)."""
    for name in ("refresh_token", "id_token", "scope", "issued_token_type"):
        if token.get(name) is not None and not isinstance(token[name], str):
            return name
    expires_in = token.get("expires_in")
    if expires_in is None or (isinstance(expires_in, str) and expires_in.isascii() and expires_in.isdigit()):
        return None
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or not 0 <= expires_in < math.inf:
        return "expires_in"
    return None


def refuse_malformed_token_response(response: requests.Response) -> requests.Response:
    """Authlib's hook before it reads a token response: a JSON object (see
    :func:`json_object_or_http_error`) whose fields have their types, refused here
    before Authlib's arithmetic on ``expires_in`` could fail on them."""
    malformed = malformed_token_field(json_object_or_http_error(response))
    if malformed is not None:
        log.warning("okta: the token response from %s has a malformed %s", endpoint_name(response.url), malformed)
        raise ProviderError("The sign-in service returned a token response that could not be read.")
    return response


class ProviderClient:
    """Talks to one provider's endpoints on behalf of one registered client."""

    def __init__(self, config: OktaConfig, metadata: MetadataCache, http: HttpClient,
                 auth_methods: tuple[Any, ...] | None = None, dpop: DPoPSigner | None = None) -> None:
        """``auth_methods`` default to those ``config.client_auth_method`` needs (signed assertions).

        With ``dpop``, every token request carries a DPoP proof, and only DPoP-bound tokens are
        accepted: a provider that ignores the proof must not leave the site holding bearer tokens
        it believes are bound. ``accepted_token_types`` holds the lowercase ``token_type`` values
        a token response may have.
        """
        self.config = config
        self.metadata = metadata
        self.http = http
        self.accepted_token_types = BEARER_ONLY if dpop is None else DPOP_ONLY
        self.auth_methods = client_auth_methods(config, self._client_auth_algorithms) \
            if auth_methods is None else auth_methods
        self.dpop = dpop
        self._local = threading.local()

    def _client_auth_algorithms(self) -> tuple[str, ...]:
        """The provider's ``token_endpoint_auth_signing_alg_values_supported``."""
        return self.metadata.get().signing_algorithms("token_endpoint_auth_signing_alg_values_supported")

    def _session(self) -> OAuth2Session:
        """This thread's Authlib session: connections to the provider are reused, and the
        token state Authlib keeps on a session is never shared between threads."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._new_session()
        return session

    def _new_session(self) -> OAuth2Session:
        session = OAuth2Session(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            token_endpoint_auth_method=self.config.client_auth_method,
            revocation_endpoint_auth_method=self.config.client_auth_method,
            default_timeout=self.config.http_timeout,
        )
        provider_session(self.http.limits, session)
        for method in self.auth_methods:
            session.register_client_auth_method(method)
        session.register_compliance_hook("access_token_response", refuse_malformed_token_response)
        if self.dpop is not None:
            session.hooks["response"].append(self.dpop.remember_nonce)
        return session

    def endpoint(self, name: str) -> str:
        url = self.metadata.get().get(name)
        if not isinstance(url, str):
            raise ProviderError(f"The sign-in service does not offer {name.replace('_', ' ')}.")
        return url

    def token_request(self, what: str, grant_type: str, *, token_endpoint: str | None = None,
                      timeout: float | None = None, **params: Any) -> dict[str, Any]:
        """POST to the token endpoint (ours unless ``token_endpoint``) with client authentication,
        waiting ``timeout`` seconds (default ``OKTA_HTTP_TIMEOUT``) for the answer."""
        url = token_endpoint or self.endpoint("token_endpoint")
        with provider_call(what, url):
            token = dict(self._fetch_token(url, grant_type, {**params, "timeout": timeout or self.config.http_timeout}))
        if not isinstance(token.get("access_token"), str):
            log.warning("okta: %s at %s returned no access_token", what, endpoint_name(url))
            raise ProviderError("The sign-in service returned no access token.")
        if not self.usable_token_type(token):
            log.warning("okta: %s at %s returned token_type %r; accepted: %s%s", what, endpoint_name(url),
                        str(token.get("token_type"))[:40], ", ".join(sorted(self.accepted_token_types)),
                        "" if self.dpop is None else " (enable DPoP for this application at the provider, "
                                                     "or unset OKTA_DPOP)")
            raise ProviderError("The sign-in service returned a token of a type this site cannot use.")
        return token

    def usable_token_type(self, token: Mapping[str, Any]) -> bool:
        """``token_type`` is one we accept, compared case-insensitively; RFC 8693's ``N_A``
        only for an exchanged token that is not an access token (an ID-JAG, say)."""
        token_type = token.get("token_type")
        if not isinstance(token_type, str):
            return False
        issued = token.get("issued_token_type")
        if token_type == "N_A" and issued is not None and issued != ACCESS_TOKEN_TYPE:
            return True
        return token_type.lower() in self.accepted_token_types

    def _fetch_token(self, url: str, grant_type: str, params: dict[str, Any]) -> Mapping[str, Any]:
        """The token request, with a DPoP proof when DPoP is on.

        A ``use_dpop_nonce`` refusal is answered once with the nonce the server
        sent (kept by the session's response hook): the first request was
        refused, so nothing was granted twice.
        """
        session = self._session()
        if self.dpop is None:
            return session.fetch_token(url, grant_type=grant_type, **params)
        try:
            return session.fetch_token(url, grant_type=grant_type, headers=self._dpop_headers(url), **params)
        except OAuthError as exc:
            if exc.error != "use_dpop_nonce":
                raise
            log.info("okta: %s asked for a DPoP nonce; sending the request again with it", endpoint_name(url))
        return session.fetch_token(url, grant_type=grant_type, headers=self._dpop_headers(url), **params)

    def _dpop_headers(self, url: str) -> dict[str, str]:
        assert self.dpop is not None
        return {**DEFAULT_HEADERS, **self.dpop.headers("POST", url)}

    def exchange_code(self, code: str, code_verifier: str, redirect_uri: str) -> dict[str, Any]:
        """The authorization code grant, with the PKCE verifier."""
        try:
            return self.token_request(
                "code exchange", "authorization_code",
                code=code, code_verifier=code_verifier, redirect_uri=redirect_uri,
            )
        except GrantError as exc:
            raise LoginError("The sign-in could not be completed. Please sign in again.", error=exc.error) from None

    def refresh(self, refresh_token: str, timeout: float | None = None) -> dict[str, Any]:
        return self.token_request("refresh", "refresh_token", timeout=timeout, refresh_token=refresh_token)

    def push_authorization_request(self, params: Mapping[str, str]) -> tuple[str, int]:
        """RFC 9126: push the authorization parameters; the ``(request_uri, expires_in)`` to use.

        Failures raise: a sign-in never silently falls back to parameters in the URL.
        """
        url = self.endpoint("pushed_authorization_request_endpoint")
        data = {k: v for k, v in params.items() if k != "client_id"}
        if self.config.client_auth_method not in ("none", "client_secret_post"):
            data["client_id"] = self.config.client_id  # those two methods add it themselves
        with provider_call("pushed authorization request", url):
            session = self._session()
            auth = session.client_auth(self.config.client_auth_method)
            response = session.post(url, data=data, auth=auth, withhold_token=True)
            body = json_object(response)
        if response.status_code not in (200, 201):
            raise oauth_error("pushed authorization request", url, body.get("error"), body.get("error_description"))
        request_uri, expires_in = body.get("request_uri"), body.get("expires_in")
        if not isinstance(request_uri, str) or not isinstance(expires_in, int) or isinstance(expires_in, bool):
            log.warning("okta: pushed authorization request at %s returned no request_uri", endpoint_name(url))
            raise ProviderError("The sign-in service did not accept the sign-in request.")
        return request_uri, expires_in

    def revoke(self, token: str, token_type_hint: str) -> bool:
        """Revoke ``token`` when the provider has a revocation endpoint; True if it did."""
        url = self.metadata.get().get("revocation_endpoint")
        if not isinstance(url, str):
            return False
        with provider_call("revocation", url):
            session = self._session()
            response = session.revoke_token(url, token=token, token_type_hint=token_type_hint)
        if response.status_code != 200:
            log.warning("okta: revocation at %s answered %s", endpoint_name(url), response.status_code)
        return response.status_code == 200

    def introspect(self, token: str, token_type_hint: str = "access_token") -> dict[str, Any]:
        """RFC 7662 introspection; the provider's JSON answer."""
        url = self.endpoint("introspection_endpoint")
        with provider_call("introspection", url):
            session = self._session()
            response = session.introspect_token(url, token=token, token_type_hint=token_type_hint)
            body = json_object(response)
        if response.status_code != 200 or not isinstance(body.get("active"), bool):
            log.warning("okta: introspection at %s answered %s (%s)",
                        endpoint_name(url), response.status_code, body.get("error"))
            raise ProviderError("The sign-in service could not check the token.")
        return body

    def userinfo(self, access_token: str, token_type: str = "Bearer") -> dict[str, Any]:
        """UserInfo for the access token; a DPoP-bound one goes with a proof of the site's key."""
        url = self.endpoint("userinfo_endpoint")
        if token_type == "DPoP" and self.dpop is not None:
            dpop = self.dpop

            def headers() -> dict[str, str]:  # a proof of its own for each attempt: a retry is no replay
                return {"Authorization": f"DPoP {access_token}", **dpop.headers("GET", url, access_token)}

            return self.http.get_json(url, headers=headers)
        return self.http.get_json(url, headers={"Authorization": f"Bearer {access_token}"})
