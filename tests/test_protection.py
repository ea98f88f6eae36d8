"""``@login_required`` and claims checks for browser users."""

from __future__ import annotations

import pytest


def test_page_load_without_session_redirects_to_login_with_next(client):
    response = client.get("/protected?tab=2")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/protected?tab%3D2"


@pytest.mark.parametrize("headers", [
    {"Accept": "application/json"},
    {"X-Requested-With": "XMLHttpRequest"},
    {"Sec-Fetch-Mode": "cors"},
])
def test_non_navigation_request_without_session_gets_401_json(client, headers):
    response = client.get("/protected", headers=headers)
    assert response.status_code == 401
    assert response.json["error"] == "unauthorized"


def test_browser_navigation_with_fetch_metadata_is_redirected(client):
    response = client.get("/protected", headers={"Sec-Fetch-Mode": "navigate", "Accept": "text/html"})
    assert response.status_code == 302


def test_signed_in_user_reaches_the_view(client, okta_sign_in):
    user = okta_sign_in(client, "erin")
    response = client.get("/protected")
    assert response.status_code == 200
    assert user.sub in response.get_data(as_text=True)


def test_group_requirement_refuses_a_user_without_the_group(client, okta_sign_in):
    okta_sign_in(client, "frank", groups=["Everyone"])
    response = client.get("/staff")
    assert response.status_code == 403
    assert "Access denied" in response.get_data(as_text=True)


def test_group_requirement_admits_a_member(client, okta_sign_in):
    okta_sign_in(client, "gina", groups=["Everyone", "Staff"])
    assert client.get("/staff").status_code == 200


def test_current_user_in_templates_and_views(app, client, okta_sign_in):
    from flask import render_template_string

    @app.get("/who")
    def who():
        return render_template_string("{{ current_user.email }} {{ current_user.is_authenticated }}")

    okta_sign_in(client, "hank")
    assert client.get("/who").get_data(as_text=True) == "hank@example.com True"


def test_claims_checks_equal_include_and_predicate(app, client, okta_sign_in):
    from flask_okta_client import login_required

    @app.get("/eq")
    @login_required(claims_equal={"department": "R&D"})
    def eq():
        return "ok"

    @app.get("/inc")
    @login_required(claims_include={"amr": ["mfa"]})
    def inc():
        return "ok"

    @app.get("/pred")
    @login_required(check=lambda claims: claims.get("email", "").endswith("@example.com"))
    def pred():
        return "ok"

    okta_sign_in(client, "ivy", department="Sales", amr=["pwd", "mfa"])
    assert client.get("/eq").status_code == 403
    assert client.get("/inc").status_code == 200
    assert client.get("/pred").status_code == 200


def test_anonymous_current_user(app):
    from flask_okta_client import current_user

    with app.test_request_context("/"):
        assert current_user.is_authenticated is False
        assert current_user.groups == []


def test_a_check_that_raises_refuses_and_says_so_in_the_log(app, client, okta_sign_in, caplog):
    from flask_okta_client import login_required

    @app.get("/by-department")
    @login_required(check=lambda claims: claims["department"].startswith("R&D"))
    def by_department():
        return "ok"

    okta_sign_in(client, "ivy")  # no department claim: the predicate raises KeyError
    with caplog.at_level("WARNING", logger="flask_okta_client"):
        response = client.get("/by-department", headers={"Accept": "text/html"})
    assert response.status_code == 403
    assert "the check= predicate raised KeyError; access refused" in caplog.text
    assert client.get("/profile").status_code == 200  # the sign-in is untouched
