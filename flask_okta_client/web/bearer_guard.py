"""What ``@bearer_token_required`` does before its view: find the request's access token,
validate it, check scopes and claims, and refuse with RFC 6750 or RFC 9449 challenges."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Any

from flask import Flask, Request, request
from flask.globals import app_ctx

from ..errors import AccessDenied, InsufficientScope, NotAuthenticated, OktaError, TokenValidationError
from ..protocol.bearer import VerifiedToken
from ..protocol.step_up import AuthenticationRequirement
from .authorization import ClaimRequirements, insufficient_authentication, unmet_authentication
from .dpop_auth import DPOP_SCHEME, bound_token_sent_as_bearer, dpop_challenge, dpop_verified_token
from .guards import guarded, view_caller
from .providers import provider_state


def bearer_refusal(error: OktaError, scopes: Collection[str] = ()) -> OktaError:
    """Attach the RFC 6750 challenge that tells an API client what went wrong."""
    parts = ['Bearer realm="api"']
    if not isinstance(error, NotAuthenticated):
        parts.append(f'error="{error.error}"')
    if isinstance(error, InsufficientScope):
        parts.append(f'scope="{" ".join(scopes)}"')
    error.challenge = ", ".join(parts)
    return error


def refuse_token_outside_the_header(req: Request) -> None:
    """RFC 6750 allows tokens in the query or a form body; this site does not (they leak into logs)."""
    if "access_token" in req.args or (
        req.mimetype == "application/x-www-form-urlencoded" and "access_token" in req.form
    ):
        raise TokenValidationError("Send the access token in the Authorization header.",
                                   error="invalid_request", status=400)


def header_token(header: str | None, scheme: str = "bearer") -> str:
    """The token of an ``Authorization: <scheme> <token>`` header (``scheme`` in lower case)."""
    if header is None:
        raise NotAuthenticated("An access token is required.")
    given, _, token = header.partition(" ")
    if given.lower() != scheme:
        raise NotAuthenticated("An access token is required.")
    if not token or " " in token:
        raise TokenValidationError("The Authorization header is malformed.", error="invalid_request", status=400)
    return token


def presented_token(state: Any, req: Request, header: str | None,
                    audience: str | None) -> tuple[VerifiedToken, bool]:
    """The request's verified token, and whether it came with a DPoP proof (refusals carry their challenge)."""
    dpop = header is not None and header[:5].lower() == DPOP_SCHEME
    try:
        if req.environ.get("QUERY_STRING") or req.environ.get("CONTENT_TYPE"):
            refuse_token_outside_the_header(req)
        if dpop:
            return dpop_verified_token(state, req, header_token(header, "dpop"), audience), True
        token = header_token(header)
    except (NotAuthenticated, TokenValidationError) as error:
        raise (dpop_challenge(error, state) if dpop else bearer_refusal(error)) from None
    return validated_bearer_token(state, token, audience), False


def bound_token_refusal(state: Any) -> OktaError:
    """A DPoP-bound token sent as a bearer token may have been stolen: the client must come back with DPoP."""
    return dpop_challenge(bound_token_sent_as_bearer(), state)


def validated_bearer_token(state: Any, token: str, audience: str | None) -> VerifiedToken:
    """``token``, sent as a bearer token, once it validates and is not bound to a DPoP key."""
    try:
        verified = state.access_tokens.validate(token, audience)
    except TokenValidationError as error:
        raise bearer_refusal(error) from None
    if verified.jkt is not None:
        raise bound_token_refusal(state)
    return verified


class BearerGuard:
    """What one ``@bearer_token_required`` asks of a request's access token."""

    def __init__(self, scopes: Collection[str], audience: str | None, requirements: ClaimRequirements | None,
                 step_up: AuthenticationRequirement | None, provider: str | None) -> None:
        self.scopes = frozenset(scopes)
        self.audience = audience
        self.requirements = requirements
        self.step_up = step_up
        self.provider = provider

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """The view ``function`` behind this guard.

        Most API requests repeat a token the registration verified before; the
        wrapper lets them through itself, without another call: a plain
        ``Authorization: Bearer`` request (nothing in the query string or
        body) whose token is in the verified-token cache (its ``get()``,
        inline), still usable, naming the route's audience, not DPoP-bound and
        with the scopes, on a route without claim or step-up checks. Every
        other request goes through :meth:`check`, which judges every case.
        """
        scopes, audience, provider = self.scopes, self.audience, self.provider
        scopes_only = self.requirements is None and self.step_up is None
        view = view_caller(function)
        # (app, its registration, that registration's verified-token cache, the audience a
        # cached token must name): one tuple, so that a thread never pairs one app's cache with another's.
        bound: tuple[Flask | None, Any, Any, str | None] = (None, None, None, None)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal bound
            context = app_ctx._get_current_object()  # type: ignore[attr-defined]
            req = request._get_current_object()  # type: ignore[attr-defined]
            environ = req.environ
            app, state, cache, wanted = bound
            if app is not context.app:
                app = context.app
                state = provider_state(provider, app)
                cache, wanted = state.access_tokens.cache, state.access_tokens.known_audience(audience)
                bound = (app, state, cache, wanted)
            header = environ.get("HTTP_AUTHORIZATION")
            token = header[7:] if header is not None and header.startswith("Bearer ") \
                and not environ.get("QUERY_STRING") and not environ.get("CONTENT_TYPE") else None
            if scopes_only and token is not None and (found := cache.entries.get(token)) is not None \
                    and cache.clock() < found[0] and wanted in (verified := found[1]).audiences \
                    and verified.jkt is None and scopes <= verified.scopes:
                context.g.okta_claims = verified.claims
            else:
                context.g.okta_claims = self.check(state, req, header, token)
            return view(*args, **kwargs)

        return guarded(wrapper, "bearer", provider)

    def check(self, state: Any, req: Request, header: str | None, token: str | None) -> Any:
        """The verified claims of the request's token, or the refusal (with its challenge).

        ``token`` is the token of a plain ``Authorization: Bearer`` header with
        nothing in the query string or body (else ``None``): it goes straight to
        the validator; every other request takes :func:`presented_token`.
        """
        dpop = False
        if token and " " not in token:
            verified = validated_bearer_token(state, token, self.audience)
        else:
            verified, dpop = presented_token(state, req, header, self.audience)
        if not self.scopes <= verified.scopes:
            error = InsufficientScope("The access token lacks a required scope.")
            raise dpop_challenge(error, state, " ".join(sorted(self.scopes))) if dpop else \
                bearer_refusal(error, sorted(self.scopes))
        claims = verified.claims
        if self.step_up is not None and unmet_authentication(state, self.step_up, claims) is not None:
            raise insufficient_authentication(self.step_up, "DPoP" if dpop else "Bearer")
        if self.requirements is not None and not self.requirements.allows(claims):
            error = AccessDenied("The access token is not allowed to use this resource.", error="insufficient_scope")
            raise dpop_challenge(error, state) if dpop else bearer_refusal(error)
        return claims
