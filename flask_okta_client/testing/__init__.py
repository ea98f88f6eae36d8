"""Test helpers: the embedded mock Okta server and a pytest plugin.

The plugin is registered automatically (entry point ``pytest11``) and offers:

- ``okta_mock_server``: a running :class:`MockOktaServer` (one per test session);
- ``okta_settings``: ``OKTA_*`` settings pointing at it, for your app's config;
- ``okta_sign_in``: signs a Flask test client in with chosen claims;
- ``okta_access_token``: mints a bearer access token with chosen scopes and claims.
"""

from .mock_server import MockClient, MockOktaServer
from .tokens import TestTokens

__all__ = ["MockClient", "MockOktaServer", "TestTokens"]
