"""Silent sign-in: ``prompt=none`` once, on an anonymous visitor's first page load in a browser."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

import pytest
import requests

from flask_okta_client import login_required, public, silent_login
from tests.site import csrf_token, local, make_site, query, sign_in

PAGE_LOAD = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
PENDING_FIELD = re.compile(r'name="pending" value="([^"]+)"')


def add_pages(app) -> None:
    @app.get("/news")
    def news() -> str:
        return "news"

    @app.get("/welcome")
    @silent_login
    def welcome() -> str:
        return "welcome"

    @app.get("/about")
    @public
    def about() -> str:
        return "about"

    @app.get("/settings")
    @login_required
    def settings() -> str:
        return "settings"


@pytest.fixture
def app(okta_settings):
    app = make_site(okta_settings, OKTA_SILENT_LOGIN=True)
    add_pages(app)
    return app


def attempt(client, path="/news") -> str:
    response = client.get(path, headers=PAGE_LOAD)
    assert response.status_code == 302, response.get_data(as_text=True)
    authorize_url = response.headers["Location"]
    assert query(authorize_url)["prompt"] == "none"
    return authorize_url


def signed_in_at_the_provider(server, username="alice") -> requests.Session:
    """A browser with a session at the mock provider (and none at the site)."""
    browser = requests.Session()
    browser.trust_env = False
    url = server.endpoint_url("authorize") + "?" + urlencode({
        "response_type": "code", "client_id": "0oa-pytest-client", "scope": "openid",
        "redirect_uri": "http://localhost/authorization-code/callback", "state": "s", "nonce": "n",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256",
    })
    page = browser.get(url, allow_redirects=False, timeout=5)
    browser.post(url.split("?")[0], data={"pending": PENDING_FIELD.search(page.text).group(1), "username": username},
                 allow_redirects=False, timeout=5)
    return browser


def test_a_visitor_signed_in_at_the_provider_comes_back_signed_in_on_the_page(client, okta_mock_server):
    browser = signed_in_at_the_provider(okta_mock_server)
    answer = browser.get(attempt(client, "/news?page=2"), allow_redirects=False, timeout=5)
    back = client.get(local(answer.headers["Location"]), headers=PAGE_LOAD)
    assert back.headers["Location"] == "/news?page=2"
    assert client.get("/", headers=PAGE_LOAD).get_data(as_text=True).startswith("home 00u")


def test_a_visitor_not_signed_in_stays_anonymous_on_the_page_without_an_error(client, okta_mock_server, caplog):
    caplog.set_level(logging.INFO, logger="flask_okta_client")
    answer = requests.get(attempt(client, "/news"), allow_redirects=False, timeout=5)
    callback = answer.headers["Location"]
    assert query(callback)["error"] == "login_required"
    back = client.get(local(callback), headers=PAGE_LOAD)
    assert (back.status_code, back.headers["Location"]) == (302, "/news")
    page = client.get("/news", headers=PAGE_LOAD)
    assert (page.status_code, page.get_data(as_text=True)) == (200, "news")      # tried once only
    assert "not signed in at the provider (login_required)" in caplog.text


@pytest.mark.parametrize("error", ["interaction_required", "consent_required", "account_selection_required",
                                   "access_denied", "server_error"])
def test_any_answer_of_a_silent_attempt_leaves_the_visitor_anonymous(client, okta_mock_server, error):
    state = query(attempt(client))["state"]
    back = client.get("/authorization-code/callback?" + urlencode(
        {"state": state, "error": error, "iss": okta_mock_server.issuer}), headers=PAGE_LOAD)
    assert (back.status_code, back.headers["Location"]) == (302, "/news")
    assert client.get("/", headers=PAGE_LOAD).get_data(as_text=True) == "home anonymous"


def test_a_silent_answer_from_another_issuer_is_refused_quietly(client, okta_mock_server, caplog):
    state = query(attempt(client))["state"]
    back = client.get("/authorization-code/callback?" + urlencode(
        {"state": state, "code": "x", "iss": "https://evil.example"}), headers=PAGE_LOAD)
    assert back.headers["Location"] == "/news"
    assert "silent sign-in failed: invalid_issuer" in caplog.text
    assert client.get("/", headers=PAGE_LOAD).get_data(as_text=True) == "home anonymous"


@pytest.mark.parametrize("method, headers", [
    ("GET", {"Accept": "application/json", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}),
    ("GET", {"Accept": "text/html", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}),
    ("GET", {"Accept": "text/html", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}),
    ("GET", {"Accept": "text/html"}),                                           # a crawler or a script
    ("GET", {**PAGE_LOAD, "Sec-Purpose": "prefetch"}),
    ("GET", {**PAGE_LOAD, "X-Requested-With": "XMLHttpRequest"}),
    ("POST", PAGE_LOAD),
])
def test_only_a_browser_page_load_tries(client, method, headers):
    response = client.open("/news", method=method, headers=headers)
    assert response.status_code in (200, 405)
    assert "Location" not in response.headers


def test_protected_pages_apis_and_the_extension_routes_do_not_try(client, okta_access_token):
    assert client.get("/settings", headers=PAGE_LOAD).headers["Location"].startswith("/login?next=")
    token = okta_access_token(scopes=["messages:read"])
    assert client.get("/api/messages", headers={**PAGE_LOAD, "Authorization": f"Bearer {token}"}).status_code == 200
    assert "prompt" not in query(client.get("/login", headers=PAGE_LOAD).headers["Location"])


def test_a_signed_in_user_does_not_try(client, okta_sign_in):
    okta_sign_in(client, "alice")
    assert client.get("/news", headers=PAGE_LOAD).status_code == 200


def test_after_signing_in_and_out_the_session_does_not_try_again(client, okta_mock_server):
    sign_in(client, okta_mock_server, "alice")
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    page = client.get("/news", headers=PAGE_LOAD)
    assert (page.status_code, page.get_data(as_text=True)) == (200, "news")


def test_an_unreachable_provider_serves_the_page_anonymously(okta_settings, okta_mock_server, caplog):
    app = make_site(okta_settings, OKTA_SILENT_LOGIN=True)
    add_pages(app)
    okta_mock_server.fail_next("discovery", status=503, times=10)
    page = app.test_client().get("/news", headers=PAGE_LOAD)
    assert (page.status_code, page.get_data(as_text=True)) == (200, "news")
    assert "silent sign-in not tried" in caplog.text


def test_the_decorator_tries_on_its_own_view_only(okta_settings):
    app = make_site(okta_settings)
    add_pages(app)
    client = app.test_client()
    assert client.get("/news", headers=PAGE_LOAD).status_code == 200
    attempt(client, "/welcome")


def test_with_require_login_only_public_pages_try(okta_settings):
    app = make_site(okta_settings, OKTA_SILENT_LOGIN=True, OKTA_REQUIRE_LOGIN=True)
    add_pages(app)
    client = app.test_client()
    assert client.get("/news", headers=PAGE_LOAD).headers["Location"].startswith("/login?next=")
    attempt(client, "/about")
