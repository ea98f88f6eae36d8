"""Okta and OpenID Connect sign-in for Flask."""

from .config import OktaConfig
from .decorators import login_required
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
from .user import current_user

__all__ = [
    "AccessDenied",
    "ConfigError",
    "InsufficientScope",
    "LoginError",
    "NotAuthenticated",
    "OktaClient",
    "OktaConfig",
    "OktaError",
    "ProviderError",
    "ProviderUnavailable",
    "TokenValidationError",
    "current_user",
    "login_required",
]
