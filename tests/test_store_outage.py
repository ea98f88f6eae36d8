"""redis-server stopped and started again under a signed-in browser: clear 503 pages, then recovery."""

from __future__ import annotations

from flask import render_template_string
from jinja2 import ChoiceLoader, DictLoader

from tests.concurrency import run_concurrently
from tests.site import make_site, sign_in

# A site layout that shows who is signed in, as most sites' layouts do.
LAYOUT = """<header>{% if current_user.is_authenticated %}signed in{% else %}signed out{% endif %}</header>
{% block content %}{% endblock %}"""


def outage_site(okta_settings, store_url):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=store_url)
    app.jinja_loader = ChoiceLoader([DictLoader({"okta/layout.html": LAYOUT}), app.jinja_loader])

    @app.errorhandler(404)
    def not_found(error):
        return render_template_string('{% extends "okta/layout.html" %}{% block content %}gone{% endblock %}'), 404

    @app.get("/about")
    def about() -> str:
        return "about us"

    return app


def test_pages_answer_503_while_redis_is_down_and_recover_when_it_is_back(okta_settings, okta_mock_server,
                                                                         redis_server):
    app = outage_site(okta_settings, redis_server.url)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    assert client.get("/protected").status_code == 200

    redis_server.stop()
    for path in ("/protected", "/", "/no-such-page"):
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 503, path
        assert page.headers["Retry-After"] == "30"
        assert "<header>signed out</header>" in page.get_data(as_text=True)
        api = client.get(path, headers={"Accept": "application/json"})
        assert api.status_code == 503, path
        assert api.headers["Retry-After"] == "30"
        assert api.get_json()["error"] == "temporarily_unavailable"
    assert client.get("/about").get_data(as_text=True) == "about us"  # never reads the sign-in

    redis_server.start()
    assert client.get("/protected").get_data(as_text=True).startswith("protected for 00u")
    assert client.get("/no-such-page").status_code == 404


def test_a_request_that_does_not_use_the_sign_in_does_not_open_it(okta_settings, okta_mock_server, redis_server):
    app = outage_site(okta_settings, redis_server.url)
    client = app.test_client()
    sign_in(client, okta_mock_server)
    redis_server.stop()
    response = client.get("/about")
    assert response.status_code == 200
    assert not response.headers.getlist("Set-Cookie")


def test_every_pooled_redis_connection_works_again_after_a_restart(okta_settings, okta_mock_server, redis_server):
    """Connections opened before the restart are found closed and opened again, not used dead:
    the first requests after the restart, on several threads at once, all succeed."""
    app = outage_site(okta_settings, redis_server.url)
    browsers = [app.test_client() for _ in range(8)]
    for browser in browsers:
        sign_in(browser, okta_mock_server)

    def load_pages() -> list[int | BaseException]:
        return [answer if isinstance(answer, BaseException) else answer.status_code
                for answer in run_concurrently([lambda b=b: b.get("/protected") for b in browsers])]

    assert load_pages() == [200] * 8  # the pool now holds connections opened on several threads
    redis_server.stop()
    redis_server.start()
    assert load_pages() == [200] * 8
