"""Step-up authentication (RFC 9470): how strong (``acr``) and how recent (``auth_time``) a sign-in must be."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import TokenValidationError
from .validation import check_auth_time

INSUFFICIENT_USER_AUTHENTICATION = "insufficient_user_authentication"


def _quoted(value: str) -> str:
    """An RFC 9110 quoted-string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class AuthenticationRequirement:
    """``acr_values``: acceptable ``acr`` values, in order of preference (any one will do);
    ``max_age``: at most this many seconds since the user last authenticated."""

    acr_values: tuple[str, ...] = ()
    max_age: int | None = None

    @classmethod
    def build(cls, acr_values: str | Collection[str] | None = None,
              max_age: int | str | None = None) -> AuthenticationRequirement | None:
        """``None`` when nothing is required. ``acr_values`` may be a space-separated string."""
        values = tuple(acr_values.split() if isinstance(acr_values, str) else acr_values or ())
        if not values and max_age is None:
            return None
        return cls(values, None if max_age is None else int(max_age))

    def unmet_by(self, claims: Mapping[str, Any], *, now: float, leeway: float) -> str | None:
        """Why ``claims`` fall short of this requirement, or ``None`` when they meet it.

        The ``auth_time`` check allows ``leeway`` seconds, so a sign-in made for
        ``max_age=0`` still counts on the page it was made for.
        """
        if self.acr_values and claims.get("acr") not in self.acr_values:
            return "The sign-in does not have a required authentication level (acr)."
        if self.max_age is not None:
            try:
                check_auth_time(claims, max_age=self.max_age, now=now, leeway=leeway)
            except TokenValidationError as error:
                return error.description
        return None

    def login_params(self) -> dict[str, str]:
        """The authorization request parameters that ask the provider for this."""
        params = {"acr_values": " ".join(self.acr_values)} if self.acr_values else {}
        if self.max_age is not None:
            params["max_age"] = str(self.max_age)
        return params

    def challenge(self, description: str, scheme: str = "Bearer") -> str:
        """The RFC 9470 ``WWW-Authenticate`` value that tells a client what to ask for,
        under the scheme its token came with (``DPoP`` for DPoP-bound tokens)."""
        parts = [f"error={_quoted(INSUFFICIENT_USER_AUTHENTICATION)}", f"error_description={_quoted(description)}"]
        if self.acr_values:
            parts.append(f"acr_values={_quoted(' '.join(self.acr_values))}")
        if self.max_age is not None:
            parts.append(f"max_age={self.max_age}")
        return f"{scheme} " + ", ".join(parts)
