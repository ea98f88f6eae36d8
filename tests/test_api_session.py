"""``okta.api_session()``: the signed-in user's (or an exchanged, or the app's) token sent to one API,
with DPoP when it is on, refreshed when due, retried once after a 401 that a retry can cure,
and never sent to another origin. The API is a real HTTP server on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, jsonify, redirect, request
from werkzeug.serving import make_server

from flask_okta_client import (
    ForeignOriginError,
    OktaClient,
    bearer_token_required,
    current_token,
    signals,
)
from tests.lifecycle_helpers import OFFLINE_SCOPES, expire_access_token, stored_user
from tests.site import make_site, sign_in

JSON = {"Accept": "application/json"}


class Api:
    """An API protected by ``@bearer_token_required``, recording what reaches it."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.app = Flask("api")
        self.app.config.update({"SECRET_KEY": "api-secret-key-0123456789-0123456789abcdef", **settings})
        OktaClient(self.app)
        self.seen: list[dict[str, str | None]] = []
        self.refused: set[str] = set()  # tokens to answer with 401 invalid_token (revoked, say)
        self.refuse_all = False
        self.other_origin = ""
        self.app.before_request(self._record)

        @self.app.route("/echo", methods=["GET", "POST", "DELETE"])
        @bearer_token_required
        def echo() -> Any:
            return jsonify(sub=current_token["sub"], body=request.get_data(as_text=True))

        @self.app.get("/away")
        def away() -> Any:
            return redirect(f"{self.other_origin}/open")

        @self.app.get("/open")
        def open_page() -> Any:
            return jsonify(ok=True)

    def _record(self) -> Any:
        authorization = request.headers.get("Authorization")
        self.seen.append({"path": request.path, "authorization": authorization, "dpop": request.headers.get("DPoP")})
        token = (authorization or " ").split(" ", 1)[1]
        if token in self.refused or (self.refuse_all and request.path == "/echo"):
            return jsonify(error="invalid_token"), 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        return None

    def hits(self, path: str = "/echo") -> list[dict[str, str | None]]:
        return [entry for entry in self.seen if entry["path"] == path]


def serve(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def api_factory(okta_settings):
    """``api_factory(**settings)``: an API served on loopback; returns (api, base URL)."""
    servers = []

    def start(**settings: Any) -> tuple[Api, str]:
        api = Api({**okta_settings, **settings})
        server = serve(api.app)
        servers.append(server)
        return api, next(server)

    yield start
    for server in servers:
        next(server, None)


@pytest.fixture
def api(api_factory):
    return api_factory()


def client_site(okta_settings, base: str, **config: Any) -> Flask:
    """A site whose /call view calls the API through okta.api_session()."""
    app = make_site(okta_settings, OKTA_SCOPES=OFFLINE_SCOPES, **config)
    okta = app.extensions["okta"]

    @app.route("/call", methods=["GET", "POST"])
    def call() -> Any:
        method = request.args.get("method", "GET")
        body: Any = request.args.get("body")
        if request.args.get("stream"):
            body = iter([b"streamed"])
        with okta.api_session(base) as session:
            answer = session.request(method, request.args.get("path", "/echo"), data=body)
        return jsonify(status=answer.status_code, body=answer.text)

    return app


def signed_in(app: Flask, okta_mock_server) -> Any:
    client = app.test_client()
    sign_in(client, okta_mock_server)
    return client


def test_sends_the_signed_in_users_token(okta_settings, okta_mock_server, api):
    api, base = api
    app = client_site(okta_settings, base)
    client = signed_in(app, okta_mock_server)
    answer = client.get("/call").json
    assert answer["status"] == 200, answer
    assert api.hits()[-1]["authorization"] == f"Bearer {stored_user(app, client).access_token}"
    assert api.hits()[-1]["dpop"] is None


def test_refreshes_a_due_token_before_sending_it(okta_settings, okta_mock_server, api):
    api, base = api
    app = client_site(okta_settings, base)
    client = signed_in(app, okta_mock_server)
    old = stored_user(app, client).access_token
    expire_access_token(app, client)
    assert client.get("/call").json["status"] == 200
    sent = api.hits()[-1]["authorization"]
    assert sent != f"Bearer {old}"
    assert sent == f"Bearer {stored_user(app, client).access_token}"


@pytest.mark.parametrize("method, body", [("GET", None), ("POST", "payload"), ("DELETE", None)])
def test_refused_token_is_refreshed_and_the_request_sent_once_more(okta_settings, okta_mock_server, api,
                                                                   method, body):
    api, base = api
    app = client_site(okta_settings, base)
    client = signed_in(app, okta_mock_server)
    api.refused.add(stored_user(app, client).access_token)
    tokens_before = okta_mock_server.count("token")
    answer = client.get("/call", query_string={"method": method, **({"body": body} if body else {})}).json
    assert answer["status"] == 200, answer
    assert okta_mock_server.count("token") == tokens_before + 1
    assert len(api.hits()) == 2
    if body:
        assert "payload" in answer["body"]


def test_a_refused_token_is_retried_only_once(okta_settings, okta_mock_server, api):
    api, base = api
    app = client_site(okta_settings, base)
    client = signed_in(app, okta_mock_server)
    api.refuse_all = True
    assert client.get("/call").json["status"] == 401
    assert len(api.hits()) == 2


def test_a_streamed_body_is_not_sent_twice(okta_settings, okta_mock_server, api):
    api, base = api
    app = client_site(okta_settings, base)
    client = signed_in(app, okta_mock_server)
    api.refused.add(stored_user(app, client).access_token)
    assert client.get("/call", query_string={"method": "POST", "stream": "1"}).json["status"] == 401
    assert len(api.hits()) == 1


def test_tokens_never_go_to_another_origin(okta_settings, okta_mock_server, api_factory):
    api, base = api_factory()
    other, other_base = api_factory()
    api.other_origin = other_base
    app = client_site(okta_settings, base, TESTING=True)  # the view's exception reaches the test
    client = signed_in(app, okta_mock_server)
    for path in (f"{other_base}/echo", "http://evil.example/echo", "//evil.example/echo"):
        with pytest.raises(ForeignOriginError):
            client.get("/call", query_string={"path": path})
    assert other.seen == []
    answer = client.get("/call", query_string={"path": "/away"}).json
    assert answer["status"] == 200
    assert other.hits("/open") == [{"path": "/open", "authorization": None, "dpop": None}]


def test_dpop_tokens_go_with_a_proof_and_nonce_challenges_are_answered(okta_settings, okta_mock_server,
                                                                     api_factory):
    api, base = api_factory(OKTA_DPOP_REQUIRE_NONCE=True)
    app = client_site(okta_settings, base, OKTA_DPOP=True)
    client = signed_in(app, okta_mock_server)
    assert client.get("/call").json["status"] == 200
    first, second = api.hits()
    assert first["authorization"].startswith("DPoP ") and first["dpop"] != second["dpop"]
    assert client.get("/call").json["status"] == 200
    assert len(api.hits()) == 3  # the nonce was remembered


def test_dpop_session_without_nonces(okta_settings, okta_mock_server, api):
    api, base = api
    app = client_site(okta_settings, base, OKTA_DPOP=True)
    client = signed_in(app, okta_mock_server)
    assert client.get("/call").json["status"] == 200
    assert len(api.hits()) == 1


def test_client_credentials_session_outside_a_request(okta_settings, okta_mock_server, api):
    api, base = api
    app = make_site(okta_settings)
    with app.app_context(), app.extensions["okta"].api_session(base, client_credentials=True,
                                                                scope="openid") as session:
        answer = session.get("/echo")
    assert answer.status_code == 200
    assert answer.json()["sub"] == okta_settings["OKTA_CLIENT_ID"]


def test_exchanged_token_session(okta_settings, okta_mock_server, api):
    api, base = api
    app = make_site(okta_settings)
    okta = app.extensions["okta"]

    @app.get("/exchanged")
    def exchanged() -> Any:
        with okta.api_session(base, audience="api://default", scope="openid") as session:
            return jsonify(status=session.get("/echo").status_code)

    client = signed_in(app, okta_mock_server)
    assert client.get("/exchanged").json["status"] == 200
    sent = api.hits()[-1]["authorization"]
    assert sent.startswith("Bearer ") and sent != f"Bearer {stored_user(app, client).access_token}"


def test_user_session_for_an_anonymous_visitor_is_refused(okta_settings, api):
    api, base = api
    app = client_site(okta_settings, base)
    response = app.test_client().get("/call", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert api.seen == []


def test_scope_without_audience_or_client_credentials_is_a_mistake(okta_settings):
    app = make_site(okta_settings)
    with pytest.raises(ValueError):
        app.extensions["okta"].api_session("https://api.example.com/", scope="orders:read")


@pytest.fixture
def lower_case_dpop_token_type(okta_mock_server):
    """The mock answers ``token_type: dpop`` (RFC 6749 §5.1: any case) for bound tokens."""
    okta_mock_server.dpop_token_type = "dpop"
    yield
    okta_mock_server.dpop_token_type = "DPoP"


@pytest.mark.usefixtures("lower_case_dpop_token_type")
@pytest.mark.parametrize("source", [{"audience": "api://default", "scope": "openid"},
                                    {"client_credentials": True, "scope": "openid"}])
def test_exchanged_and_app_tokens_answered_as_lower_case_dpop_go_with_a_proof(okta_settings, okta_mock_server,
                                                                              api, source):
    api, base = api
    app = make_site(okta_settings, OKTA_DPOP=True, OKTA_SCOPES=OFFLINE_SCOPES)
    okta = app.extensions["okta"]

    @app.get("/bound")
    def bound() -> Any:
        with okta.api_session(base, **source) as session:
            return jsonify(status=session.get("/echo").status_code)

    client = signed_in(app, okta_mock_server)
    assert client.get("/bound").json["status"] == 200
    [hit] = api.hits()
    assert hit["authorization"].startswith("DPoP ") and hit["dpop"]

REFUSED_GRANT = '{"error": "invalid_grant", "error_description": "The refresh token is invalid."}'


@pytest.mark.parametrize("why", ["due", "refused by the API"])
def test_a_refresh_the_provider_refuses_ends_the_session_with_the_refresh_failed_signal(
        okta_settings, okta_mock_server, api, why):
    api, base = api
    app = client_site(okta_settings, base)
    client = signed_in(app, okta_mock_server)
    if why == "due":
        expire_access_token(app, client)
    else:
        api.refused.add(stored_user(app, client).access_token)  # the session then forces a refresh
    okta_mock_server.fail_next("token", status=400, body=REFUSED_GRANT)
    failures = []
    with signals.refresh_failed.connected_to(lambda sender, error, **extra: failures.append(error.error), app):
        answer = client.get("/call", headers=JSON)
    assert answer.status_code == 401 and answer.json["error"] == "session_ended"
    assert failures == ["session_ended"]
    assert len(api.hits()) == (0 if why == "due" else 1)
    assert client.get("/protected", headers=JSON).json["error"] == "unauthorized"


def test_a_provider_outage_during_its_refresh_answers_503_and_keeps_the_session(okta_settings, okta_mock_server,
                                                                                 api):
    api, base = api
    app = client_site(okta_settings, base)
    client = signed_in(app, okta_mock_server)
    expire_access_token(app, client)
    okta_mock_server.fail_next("token", status=503)
    answer = client.get("/call", headers=JSON)
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert api.hits() == []
    assert client.get("/call", headers=JSON).json["status"] == 200


def test_okta_refresh_refused_ends_the_session_with_the_refresh_failed_signal(okta_settings, okta_mock_server):
    okta = OktaClient()
    app = make_site(okta_settings, okta, OKTA_SCOPES=OFFLINE_SCOPES)

    @app.post("/refresh-now")
    def refresh_now() -> str:
        okta.refresh()
        return "refreshed"

    client = signed_in(app, okta_mock_server)
    okta_mock_server.fail_next("token", status=400, body=REFUSED_GRANT)
    failures = []
    with signals.refresh_failed.connected_to(lambda sender, error, **extra: failures.append(error.error), app):
        assert client.post("/refresh-now", headers=JSON).status_code == 401
    assert failures == ["session_ended"]
    assert client.get("/protected", headers=JSON).json["error"] == "unauthorized"


def test_a_page_load_whose_refresh_is_refused_is_sent_to_sign_in_again(okta_settings, okta_mock_server, api):
    """README (What each error page means): a session whose refresh the provider refused sends page loads to
    sign in, back to the same page, also when the refresh happens inside the view (api_session)."""
    api, base = api
    app = client_site(okta_settings, base)
    client = signed_in(app, okta_mock_server)
    expire_access_token(app, client)
    okta_mock_server.fail_next("token", status=400, body=REFUSED_GRANT)
    page = client.get("/call?path=/echo", headers={"Accept": "text/html", "Sec-Fetch-Mode": "navigate"})
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=/call?path%3D/echo"
