"""Code that shapes each sign-in: extra authorization parameters, and state that comes back with the callback."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Response, g

from ..errors import ConfigError
from .login_options import checked_params

if TYPE_CHECKING:
    from .user import User

log = logging.getLogger("flask_okta_client")

#: The login state rides in the session cookie with the pending sign-in, so it must stay small.
MAX_LOGIN_STATE_LENGTH = 1024

#: ``after_login`` callbacks get the new user; they may return a response
#: (e.g. a redirect to onboarding) or raise an OktaError such as AccessDenied to refuse the sign-in.
AfterLogin = Callable[["User"], Response | None]
#: ``authorization_params`` hooks return parameters to add to the authorization request.
ParamsHook = Callable[[], Mapping[str, Any] | None]
#: ``state_for_login`` hooks return a JSON-able dict that comes back as ``okta.login_state``.
StateHook = Callable[[], Mapping[str, Any] | None]


def misconfigured(message: str) -> ConfigError:
    log.error("okta: %s", message)
    return ConfigError(message)


@dataclass
class LoginHooks:
    """The callbacks an app registered on its ``OktaClient``."""

    after_login: list[AfterLogin] = field(default_factory=list)
    authorization_params: list[ParamsHook] = field(default_factory=list)
    state_for_login: list[StateHook] = field(default_factory=list)

    def added_params(self, options: Mapping[str, str]) -> dict[str, str]:
        """What the ``authorization_params`` hooks add: checked like the query's, and never in
        place of an option already set (the query's, the route's, configuration's)."""
        added: dict[str, str] = {}
        for hook in self.authorization_params:
            try:
                params = checked_params(hook() or {}, f"the authorization_params hook {hook.__name__}")
            except ValueError as error:
                raise misconfigured(str(error)) from None
            for name, value in params.items():
                added.setdefault(name, value)
        return {name: value for name, value in added.items() if name not in options}

    def login_state(self) -> dict[str, Any] | None:
        """The state the ``state_for_login`` hooks return, merged; ``None`` when there is none."""
        state: dict[str, Any] = {}
        for hook in self.state_for_login:
            state.update(hook() or {})
        if not state:
            return None
        try:
            encoded = json.dumps(state, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):
            raise misconfigured("the login state must be a dict of JSON values (str, number, bool, None, "
                                "list, dict)") from None
        if len(encoded) > MAX_LOGIN_STATE_LENGTH:
            raise misconfigured(f"the login state must be at most {MAX_LOGIN_STATE_LENGTH} characters "
                                f"as JSON, got {len(encoded)}")
        return json.loads(encoded)


def returned_login_state() -> dict[str, Any]:
    """The login state of the sign-in this callback finishes; empty elsewhere."""
    return g.get("okta_login_state") or {}
