"""Claims-based authorization and step-up requirements, shared by ``login_required`` and
``bearer_token_required``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InsufficientUserAuthentication
from ..protocol.step_up import AuthenticationRequirement
from .login_options import is_ascii_words, is_max_age

log = logging.getLogger("flask_okta_client")

ClaimsCheck = Callable[[Mapping[str, Any]], bool]


def _as_set(value: Any) -> set[Any]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return set(value)
    if isinstance(value, str):
        return set(value.split())
    return set() if value is None else {value}


@dataclass(frozen=True)
class ClaimRequirements:
    """What the claims must satisfy, in the spirit of express-openid-connect.

    ``groups``: every listed Okta group must be in the ``groups`` claim.
    ``claims_equal``: each claim must equal the value.
    ``claims_include``: each claim (a list or space-separated string) must include all values.
    ``check``: a predicate over the claims.
    """

    groups: tuple[str, ...] = ()
    claims_equal: Mapping[str, Any] = field(default_factory=dict)
    claims_include: Mapping[str, Collection[Any]] = field(default_factory=dict)
    check: ClaimsCheck | None = None

    @classmethod
    def build(cls, groups: Collection[str] | str | None = None, claims_equal: Mapping[str, Any] | None = None,
              claims_include: Mapping[str, Collection[Any] | str] | None = None,
              check: ClaimsCheck | None = None) -> ClaimRequirements | None:
        """``None`` when nothing is required, so the common case costs nothing."""
        if not (groups or claims_equal or claims_include or check):
            return None
        return cls(
            groups=tuple(_as_set(groups)),
            claims_equal=dict(claims_equal or {}),
            claims_include={name: tuple(_as_set(values)) for name, values in (claims_include or {}).items()},
            check=check,
        )

    def allows(self, claims: Mapping[str, Any]) -> bool:
        if self.groups and not set(self.groups) <= _as_set(claims.get("groups")):
            return False
        for name, expected in self.claims_equal.items():
            if name not in claims or claims[name] != expected:
                return False
        for name, values in self.claims_include.items():
            if not set(values) <= _as_set(claims.get(name)):
                return False
        return self.check is None or self._check_allows(claims)

    def _check_allows(self, claims: Mapping[str, Any]) -> bool:
        """The ``check`` predicate's answer; one that raises (a claim it expects is missing or of
        another type, say) refuses, with a warning naming the exception."""
        try:
            return bool(self.check(claims))  # type: ignore[misc]
        except Exception as exc:
            log.warning("okta: the check= predicate raised %s; access refused", type(exc).__name__)
            return False


def unmet_authentication(state: Any, step_up: AuthenticationRequirement, claims: Mapping[str, Any]) -> str | None:
    """Why ``claims`` fall short of ``step_up``, with the configured clock leeway."""
    return step_up.unmet_by(claims, now=state.verifier.clock(), leeway=state.config.clock_skew)


def insufficient_authentication(step_up: AuthenticationRequirement,
                                scheme: str = "Bearer") -> InsufficientUserAuthentication:
    """The RFC 9470 refusal: 401 with a challenge naming the ``acr_values`` and ``max_age`` to ask for."""
    error = InsufficientUserAuthentication("A stronger or more recent sign-in is needed for this resource.")
    error.challenge = step_up.challenge(error.description, scheme)
    return error


def authentication_requirement(acr_values: str | Collection[str] | None,
                               max_age: int | None) -> AuthenticationRequirement | None:
    """The step-up requirement of a decorator, checked when the view is decorated."""
    step_up = AuthenticationRequirement.build(acr_values, max_age)
    if step_up is None:
        return None
    if not all(is_ascii_words(value) and " " not in value for value in step_up.acr_values):
        raise ValueError(f"acr_values must be ASCII words without spaces, got {acr_values!r}")
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)
                                or not is_max_age(str(max_age))):
        raise ValueError(f"max_age must be a whole number of seconds, got {max_age!r}")
    return step_up
