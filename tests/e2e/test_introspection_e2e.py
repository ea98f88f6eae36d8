"""Bearer introspection against the real oidc-provider: what it refuses is refused from memory, its errors never."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from flask import Flask

from tests.concurrency import run_concurrently
from tests.e2e.site import Site, create_site_app
from tests.e2e.test_sign_in_http import sign_in

pytestmark = pytest.mark.e2e

TIMEOUT = 5


def counted_introspections(app: Flask) -> list[str]:
    """The tokens the site sends to the provider's introspection endpoint, one per call."""
    client = app.extensions["okta"].access_tokens.client
    calls: list[str] = []
    introspect = client.introspect

    def counting(token: str, token_type_hint: str = "access_token") -> dict[str, object]:
        calls.append(token)
        return introspect(token, token_type_hint)

    client.introspect = counting
    return calls


@pytest.fixture
def introspections(site: Site) -> Iterator[list[str]]:
    """The site, introspecting every bearer token; the calls it makes."""
    app = create_site_app(site.provider, "web", OKTA_TOKEN_VALIDATION="introspect")
    calls = counted_introspections(app)
    with site.serving(app):
        yield calls


def api(site: Site, token: str) -> requests.Response:
    return requests.get(site.url("/api/messages"), headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)


def test_a_token_the_provider_calls_inactive_is_asked_about_once(site: Site, introspections: list[str]) -> None:
    answers = [api(site, "a-token-oidc-provider-never-issued") for _ in range(3)]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [(401, "invalid_token")] * 3
    assert len(introspections) == 1


def test_concurrent_requests_with_one_unknown_token_make_one_call(site: Site, introspections: list[str]) -> None:
    answers = run_concurrently([lambda: api(site, "another-token-oidc-provider-never-issued")] * 10)
    assert [a.status_code for a in answers] == [401] * 10
    assert len(introspections) == 1


def test_an_introspection_error_is_never_remembered(site: Site, introspections: list[str]) -> None:
    """oidc-provider answers 400 unsupported_token_type for its JWT access tokens: a 502, asked again each time."""
    token = site.signed_in_user(sign_in(site, next="/protected").browser).access_token
    assert [api(site, token).status_code for _ in range(2)] == [502] * 2
    assert len(introspections) == 2


def test_a_refresh_token_is_not_taken_for_an_access_token(site: Site, introspections: list[str]) -> None:
    """oidc-provider describes an active refresh token without any token_type: such an answer does not
    say it is an access token, so the token is refused, once."""
    token = site.signed_in_user(sign_in(site, next="/protected", prompt="consent").browser).refresh_token
    assert token, "the site asked for offline_access with prompt=consent: a refresh token was expected"
    answers = [api(site, token) for _ in range(2)]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [(401, "invalid_token")] * 2
    assert len(introspections) == 1
