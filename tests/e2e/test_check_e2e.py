"""`flask okta check` against the real oidc-provider: client credentials and the redirect URI."""

from __future__ import annotations

import pytest

from tests.e2e.provider import OidcProvider
from tests.e2e.site import create_site_app

pytestmark = pytest.mark.e2e


def check(oidc_provider: OidcProvider, **overrides: object):
    app = create_site_app(oidc_provider, **{"OKTA_REDIRECT_URI": oidc_provider.redirect_uri, **overrides})
    return app.test_cli_runner().invoke(args=["okta", "check"])


def test_check_accepts_the_registered_client(oidc_provider):
    result = check(oidc_provider)
    assert result.exit_code == 0, result.output + result.stderr
    assert "Client authentication: accepted" in result.output
    assert f"Sign-in request: accepted for redirect_uri {oidc_provider.redirect_uri}" in result.output


def test_check_catches_a_wrong_client_secret(oidc_provider):
    result = check(oidc_provider, OKTA_CLIENT_SECRET="a-wrong-secret-that-looks-right-0123456789")
    assert result.exit_code == 1
    assert "refused this client's credentials (invalid_client)" in result.stderr
    assert "a-wrong-secret" not in result.output + result.stderr


def test_check_catches_an_unregistered_redirect_uri(oidc_provider):
    result = check(oidc_provider, OKTA_REDIRECT_URI="https://shop.example.com/authorization-code/callback")
    assert result.exit_code == 1
    assert "register it as a sign-in redirect URI" in result.stderr
