"""The extension's exceptions, each mapped to one HTTP answer.

``OktaClient`` registers one error handler for :class:`OktaError`; it renders
the ``okta/error.html`` template for browsers and a JSON body for API calls,
using ``status``, ``error`` and ``description`` from the exception. Messages
never contain tokens or secrets.
"""

from __future__ import annotations


class OktaError(Exception):
    """Base class. ``description`` is safe to show to the user."""

    status: int = 500
    error: str = "server_error"
    title: str = "Something went wrong"
    #: A ``WWW-Authenticate`` value; set on refusals of bearer-token requests (RFC 6750).
    challenge: str | None = None
    #: Seconds for the answer's ``Retry-After`` (503 answers get a default when it is unset).
    retry_after: int | None = None
    #: Other headers of the answer, such as a fresh ``DPoP-Nonce``.
    headers: dict[str, str] | None = None

    def __init__(self, description: str, *, error: str | None = None, status: int | None = None) -> None:
        super().__init__(description)
        self.description = description
        if error is not None:
            self.error = error
        if status is not None:
            self.status = status


class ConfigError(OktaError):
    """The extension is misconfigured; raised at ``init_app``."""

    title = "Sign-in is misconfigured"


class ProviderError(OktaError):
    """The provider answered with something we cannot use (a bad gateway)."""

    status = 502
    error = "provider_error"
    title = "The sign-in service answered unexpectedly"


class ProviderUnavailable(ProviderError):
    """The provider could not be reached, timed out or is overloaded.

    ``retry_after``: the seconds the provider asked callers to wait, when it said;
    ``reason``: what happened, for the logs (never shown to users).
    """

    status = 503
    error = "temporarily_unavailable"
    title = "The sign-in service is unavailable"

    def __init__(self, description: str = "The sign-in service is unavailable. Please try again in a moment.",
                 *, retry_after: float | None = None, reason: str = "unavailable",
                 error: str | None = None) -> None:
        super().__init__(description, error=error)
        self.reason = reason
        if retry_after is not None:
            self.retry_after = max(1, round(retry_after))


class LoginError(OktaError):
    """A sign-in attempt failed: a forged, stale or refused callback."""

    status = 400
    error = "invalid_request"
    title = "Sign-in failed"


class ExpiredLoginError(LoginError):
    """The callback matches no pending sign-in (used, expired or foreign)."""

    error = "login_expired"
    title = "Please sign in again"


class TokenValidationError(OktaError):
    """A token failed validation (signature, issuer, audience, expiry…)."""

    status = 401
    error = "invalid_token"
    title = "Invalid token"


class NotAuthenticated(OktaError):
    """The request needs a signed-in user or a bearer token."""

    status = 401
    error = "unauthorized"
    title = "Sign-in required"


class InsufficientUserAuthentication(NotAuthenticated):
    """RFC 9470: the sign-in or token is not strong or recent enough here; sign in again with more."""

    error = "insufficient_user_authentication"
    title = "A stronger sign-in is needed"


class AccessDenied(OktaError):
    """The user or token is authenticated but not allowed here."""

    status = 403
    error = "access_denied"
    title = "Access denied"


class InsufficientScope(AccessDenied):
    """A bearer token lacks a required scope (RFC 6750)."""

    error = "insufficient_scope"
