"""Test helpers: the embedded mock Okta server and a pytest plugin.

The plugin is registered automatically (entry point ``pytest11``) and offers:

- ``okta_mock_server``: a running :class:`MockOktaServer` (one per test session);
- ``okta_settings``: ``OKTA_*`` settings pointing at it, for your app's config;
- ``okta_sign_in``: signs a Flask test client in with chosen claims;
- ``okta_access_token``: mints a bearer access token with chosen scopes and claims,
  for the ``app`` fixture's ``OKTA_AUDIENCE``;
- ``client``: ``app.test_client()``, when pytest-flask (which has its own) is not installed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MockClient", "MockOktaServer", "TestTokens"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so `python -m flask_okta_client.testing.mock_server` runs cleanly.
    if name in ("MockClient", "MockOktaServer"):
        from . import mock_server

        return getattr(mock_server, name)
    if name == "TestTokens":
        from .tokens import TestTokens

        return TestTokens
    raise AttributeError(name)
