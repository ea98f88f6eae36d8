"""``OKTA_REQUIRE_LOGIN``: every view needs a sign-in unless it is public, static or the extension's."""

from __future__ import annotations

import pytest
from flask import Blueprint, abort
from flask.views import MethodView

from flask_okta_client import public
from tests.site import make_site, sign_in

NAVIGATION = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}


@pytest.fixture
def app(okta_settings, tmp_path):
    (tmp_path / "style.css").write_text("body {}")
    app = make_site(okta_settings, OKTA_REQUIRE_LOGIN=True)
    app.static_folder = str(tmp_path)

    @app.get("/reports")
    def reports() -> str:
        return "reports"

    @app.get("/about")
    @public
    def about() -> str:
        return "about us"

    @public
    @app.get("/contact")
    def contact() -> str:
        return "contact"

    class Status(MethodView):
        def get(self) -> str:
            return "status"

    app.add_url_rule("/status", view_func=public(Status.as_view("status")))

    @app.get("/gone")
    @public
    def gone() -> str:
        abort(410)

    shop = Blueprint("shop", __name__, static_folder=str(tmp_path), static_url_path="/assets")

    @shop.get("/cart")
    def cart() -> str:
        return "cart"

    app.register_blueprint(shop, url_prefix="/shop")
    return app


@pytest.mark.parametrize("path", ["/", "/reports", "/shop/cart", "/reports?tab=2"])
def test_every_view_sends_a_page_load_to_sign_in(client, path):
    response = client.get(path, headers=NAVIGATION)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_an_api_call_without_a_session_gets_401_json(client):
    response = client.get("/reports", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


@pytest.mark.parametrize("path, body", [("/about", "about us"), ("/contact", "contact"), ("/status", "status")])
def test_views_marked_public_are_open(client, path, body):
    response = client.get(path, headers=NAVIGATION)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == body


@pytest.mark.parametrize("path", ["/static/style.css", "/shop/assets/style.css"])
def test_static_files_are_open(client, path):
    assert client.get(path).status_code == 200


def test_the_sign_in_route_is_open(client):
    assert client.get("/login", headers=NAVIGATION).status_code == 302
    assert "/authorize?" in client.get("/login").headers["Location"]


def test_unknown_urls_stay_404_and_wrong_methods_405(client):
    assert client.get("/no-such-page", headers=NAVIGATION).status_code == 404
    assert client.post("/reports", headers=NAVIGATION).status_code == 405


def test_a_public_view_keeps_its_own_error_answer(client):
    assert client.get("/gone").status_code == 410


def test_a_cors_preflight_is_answered_without_a_session(client):
    response = client.options("/reports", headers={"Origin": "http://localhost", "Access-Control-Request-Method": "GET"})
    assert response.status_code == 200


def test_bearer_protected_apis_keep_their_own_protection(client, okta_access_token):
    token = okta_access_token(scopes=["messages:read"])
    response = client.get("/api/messages", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    refused = client.get("/api/messages")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_user_reaches_every_view_and_group_checks_still_apply(client, okta_mock_server):
    sign_in(client, okta_mock_server, "alice", next_url="/reports")
    assert client.get("/reports").get_data(as_text=True) == "reports"
    assert client.get("/shop/cart").status_code == 200
    assert client.get("/staff").status_code == 403


def test_without_the_setting_views_stay_open(okta_settings):
    client = make_site(okta_settings).test_client()
    assert client.get("/", headers=NAVIGATION).status_code == 200


def test_the_setting_must_be_a_boolean(okta_settings):
    from flask_okta_client import ConfigError

    with pytest.raises(ConfigError, match="OKTA_REQUIRE_LOGIN"):
        make_site(okta_settings, OKTA_REQUIRE_LOGIN="sometimes")
