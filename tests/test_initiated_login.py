"""Third-party-initiated login (OpenID Connect Core 1.0 §4): ``/login?iss=...&target_link_uri=...``."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.site import add_cart_views, local, make_site, query


@pytest.fixture
def app(okta_settings):
    app = make_site(okta_settings)
    add_cart_views(app)
    return app


def initiate(client, method="GET", **params):
    if method == "POST":
        return client.post("/login", data=params)
    return client.get("/login?" + urlencode(params))


def landing_after_sign_in(client, server, response, username="alice") -> str:
    assert response.status_code == 302, response.get_data(as_text=True)
    callback = server.login(response.headers["Location"], username)
    back = client.get(local(callback))
    assert back.status_code == 302
    return back.headers["Location"]


@pytest.mark.parametrize("target, landing", [
    ("/reports?year=2026", "/reports?year=2026"),
    ("http://localhost/protected?tab=2#top", "/protected?tab=2"),
    ("http://LOCALHOST:80/protected", "/protected"),
    ("http://localhost", "/"),
])
def test_initiated_login_lands_on_a_target_of_this_site(client, okta_mock_server, target, landing):
    response = initiate(client, iss=okta_mock_server.issuer, target_link_uri=target)
    assert landing_after_sign_in(client, okta_mock_server, response) == landing


def test_login_hint_is_passed_on_and_without_a_target_the_landing_page_is_used(client, okta_mock_server):
    response = initiate(client, iss=okta_mock_server.issuer, login_hint="ann@example.com")
    assert query(response.headers["Location"])["login_hint"] == "ann@example.com"
    assert landing_after_sign_in(client, okta_mock_server, response) == "/"


def test_the_okta_org_url_is_accepted_for_a_custom_authorization_server(client, okta_mock_server):
    org_url = okta_mock_server.issuer.split("/oauth2/")[0]
    assert initiate(client, iss=org_url, target_link_uri="/protected").status_code == 302


@pytest.mark.parametrize("iss", [
    "https://evil.example/oauth2/default",
    "http://127.0.0.1:1/oauth2/default",
    "",
])
def test_another_issuer_is_refused_with_400(client, okta_mock_server, iss):
    response = initiate(client, iss=iss, target_link_uri="/protected")
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_the_issuer_given_twice_is_refused(client, okta_mock_server):
    response = client.get(f"/login?{urlencode([('iss', okta_mock_server.issuer), ('iss', 'https://evil.example')])}")
    assert response.status_code == 400


@pytest.mark.parametrize("target", [
    "https://evil.example/protected",
    "http://localhost.evil.example/",
    "http://localhost:8080/protected",
    "https://localhost/protected",                 # another scheme is another origin
    "http://user@localhost/protected",
    "//evil.example/protected",
    "/\\evil.example",
    "javascript:alert(1)",
    "data:text/html,hi",
    "http://localhost:99999/",
    "relative/path",
    "/" + "a" * 3000,
])
def test_a_target_elsewhere_is_refused_with_400(client, okta_mock_server, target):
    response = initiate(client, iss=okta_mock_server.issuer, target_link_uri=target)
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_a_posted_initiation_is_relayed_as_a_get_without_touching_the_session(client, okta_mock_server):
    client.get("/remember")
    cookie_before = client.get_cookie("session").value
    response = initiate(client, "POST", iss=okta_mock_server.issuer, target_link_uri="/protected",
                        login_hint="ann@example.com", prompt="none", state="injected")
    assert response.status_code == 303
    assert "Set-Cookie" not in response.headers
    assert client.get_cookie("session").value == cookie_before
    relayed = response.headers["Location"]
    assert query(relayed) == {"iss": okta_mock_server.issuer, "target_link_uri": "/protected",
                              "login_hint": "ann@example.com"}
    assert landing_after_sign_in(client, okta_mock_server, client.get(local(relayed))) == "/protected"
    assert client.get("/cart").get_data(as_text=True) == "3 apples"


def test_a_posted_login_without_iss_is_refused(client):
    assert client.post("/login", data={"target_link_uri": "/protected"}).status_code == 400


@pytest.mark.parametrize("target, next_url", [
    ("https://app.example.com/protected?tab=2", "/protected?tab=2"),
    ("https://app.example.com:443", "/"),
    ("http://localhost/protected", "/protected"),
])
def test_the_configured_redirect_uri_origin_counts_as_this_site(okta_settings, okta_mock_server, target, next_url):
    app = make_site(okta_settings, OKTA_REDIRECT_URI="https://app.example.com/authorization-code/callback")
    client = app.test_client()
    assert initiate(client, iss=okta_mock_server.issuer, target_link_uri=target).status_code == 302
    with client.session_transaction() as session:
        assert [t["next_url"] for t in session["_okta_logins"].values()] == [next_url]
    assert initiate(client, iss=okta_mock_server.issuer,
                    target_link_uri="https://app.example.com:8443/").status_code == 400
