"""Okta and OpenID Connect sign-in for Flask."""

from .config import OktaConfig
from .errors import (
    AccessDenied,
    ConfigError,
    InsufficientScope,
    LoginError,
    NotAuthenticated,
    OktaError,
    ProviderError,
    ProviderUnavailable,
    TokenValidationError,
)
from .extension import OktaClient
from .protocol.api_session import ApiSession, ForeignOriginError
from .web.decorators import bearer_token_required, current_token, login_required, public
from .web.silent_login import silent_login
from .web.user import current_user, provider_user

__all__ = [
    "AccessDenied",
    "ApiSession",
    "ConfigError",
    "ForeignOriginError",
    "InsufficientScope",
    "LoginError",
    "NotAuthenticated",
    "OktaClient",
    "OktaConfig",
    "OktaError",
    "ProviderError",
    "ProviderUnavailable",
    "TokenValidationError",
    "bearer_token_required",
    "current_token",
    "current_user",
    "login_required",
    "provider_user",
    "public",
    "silent_login",
]
