"""README, When the provider is in trouble: a 200 whose body is not the JSON expected (an HTML page from a proxy)
is a 502, at every endpoint the site reads, and nothing else is lost (a refresh keeps the session)."""

from __future__ import annotations

import pytest

from tests.lifecycle_helpers import OFFLINE_SCOPES, expire_access_token
from tests.site import local, make_site, sign_in, start_login

PROXY_PAGE = "<html><body>Please sign in to the proxy</body></html>"
JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def no_faults_left(okta_mock_server):
    yield
    okta_mock_server.clear_faults()


def test_discovery_answered_with_html_is_a_502_at_sign_in(okta_settings, okta_mock_server):
    client = make_site(okta_settings).test_client()
    okta_mock_server.fail_next("discovery", status=200, body=PROXY_PAGE, times=5)
    answer = client.get("/login", headers=JSON)
    assert answer.status_code == 502 and answer.json["error"] == "provider_error"


@pytest.mark.parametrize("endpoint, settings", [("keys", {}), ("userinfo", {"OKTA_USE_USERINFO": True})])
def test_keys_or_userinfo_answered_with_html_is_a_502_at_the_callback(okta_settings, okta_mock_server, endpoint,
                                                                      settings):
    client = make_site(okta_settings, **settings).test_client()
    callback = okta_mock_server.login(start_login(client), "alice")
    okta_mock_server.fail_next(endpoint, status=200, body=PROXY_PAGE, times=5)
    assert client.get(local(callback), headers=JSON).status_code == 502
    assert client.get("/").get_data(as_text=True) == "home anonymous"


def test_introspection_answered_with_html_is_a_502_at_the_api(okta_settings, okta_mock_server, okta_access_token):
    client = make_site(okta_settings, OKTA_TOKEN_VALIDATION="introspect").test_client()
    okta_mock_server.fail_next("introspect", status=200, body=PROXY_PAGE, times=5)
    token = okta_access_token(scopes=["messages:read"])
    assert client.get("/api/messages", headers={"Authorization": f"Bearer {token}"}).status_code == 502


def test_a_refresh_answered_with_html_is_a_502_and_keeps_the_session(okta_settings, okta_mock_server):
    app = make_site(okta_settings, OKTA_SCOPES=OFFLINE_SCOPES)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    expire_access_token(app, client)
    okta_mock_server.fail_next("token", status=200, body=PROXY_PAGE)
    assert client.get("/protected", headers=JSON).status_code == 502
    assert client.get("/protected", headers=JSON).status_code == 200  # refreshed now, still signed in
