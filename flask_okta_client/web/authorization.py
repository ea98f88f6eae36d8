"""Claims-based authorization shared by ``login_required`` and ``bearer_token_required``."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

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
        return self.check is None or bool(self.check(claims))
