"""The registrations (providers) of an app, and the one lookup every part of the extension uses.

An app has one registration per ``OktaClient(app, name=...)``. The one named
``"okta"`` is the default (else the first registered); it stays in
``app.extensions["okta"]``, and every registration is in
``app.extensions["okta_providers"]`` by name, in registration order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, current_app

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..extension import OktaState

#: The name of the default registration, which reads the ``OKTA_*`` settings.
DEFAULT_NAME = "okta"
#: Where the default registration's state is kept (the documented place).
DEFAULT_KEY = "okta"
#: Every registration's state by name, in registration order.
REGISTRY_KEY = "okta_providers"


def registrations(app: Flask | None = None) -> dict[str, OktaState]:
    """The app's registrations by name, in registration order (empty without the extension)."""
    return (app or current_app).extensions.get(REGISTRY_KEY, {})


def provider_state(name: str | None = None, app: Flask | None = None) -> OktaState:
    """The state of the registration ``name`` of ``app`` (default: the current app's default one)."""
    extensions = (app or current_app).extensions
    state = extensions.get(DEFAULT_KEY) if name is None else extensions.get(REGISTRY_KEY, {}).get(name)
    if state is None:
        registered = ", ".join(extensions.get(REGISTRY_KEY, {})) or "none"
        what = "flask-okta-client" if name is None else f"a sign-in provider named {name!r}"
        raise ConfigError(f"This app has no {what} (registered: {registered}); "
                          "call OktaClient(app, name=...) or okta.init_app(app) first")
    return state


def register(app: Flask, state: OktaState) -> None:
    """Add ``state`` to the app's registrations; the one named ``"okta"`` (else the first) is the default."""
    app.extensions.setdefault(REGISTRY_KEY, {})[state.name] = state
    if state.name == DEFAULT_NAME or DEFAULT_KEY not in app.extensions:
        app.extensions[DEFAULT_KEY] = state


def signal_args(state: OktaState) -> dict[str, str]:
    """``provider=<name>`` for the signals of an app with several registrations; nothing otherwise,
    so receivers written for one provider keep working."""
    return {"provider": state.name} if len(registrations()) > 1 else {}
