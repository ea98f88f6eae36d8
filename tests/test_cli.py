"""``flask okta check|keygen|token`` against the mock Okta."""

from __future__ import annotations

import json
import secrets
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from click.testing import Result
from flask import Flask

from flask_okta_client import OktaClient
from flask_okta_client.cli import okta_cli
from flask_okta_client.protocol.client_auth import load_private_key
from flask_okta_client.testing.mock_server import MockClient, MockOktaServer

Run = Callable[..., Result]


@pytest.fixture(scope="module")
def server() -> Iterator[MockOktaServer]:
    with MockOktaServer() as okta:
        yield okta


@pytest.fixture
def make_app(server: MockOktaServer) -> Callable[..., Flask]:
    def make(**settings: object) -> Flask:
        client = server.add_client(MockClient("0oa" + secrets.token_hex(6), secrets.token_urlsafe(32),
                                              scopes=("openid", "api.read")))
        app = Flask(__name__)
        app.config.update({"OKTA_ISSUER": server.issuer, "OKTA_CLIENT_ID": client.client_id,
                           "OKTA_CLIENT_SECRET": client.client_secret,
                           "SECRET_KEY": "test-secret-key-0123456789abcdefghij", **settings})
        OktaClient(app)
        if "okta" not in app.cli.commands:
            app.cli.add_command(okta_cli)
        server.reset()
        return app

    return make


@pytest.fixture
def run(make_app: Callable[..., Flask]) -> Run:
    def invoke(*args: str, **settings: object) -> Result:
        return make_app(**settings).test_cli_runner().invoke(args=["okta", *args])

    return invoke


def test_check_passes(run: Run, server: MockOktaServer) -> None:
    result = run("check")
    assert result.exit_code == 0, result.output + result.stderr
    assert f"token_endpoint: {server.endpoint_url('token')}" in result.output
    assert "Signing keys: 1" in result.output and "alg=RS256" in result.output
    assert "client_secret: (set)" in result.output
    assert "OK: no problems found." in result.output
    assert "Warning: the issuer uses http://" in result.output


def test_check_never_prints_the_secret(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    result = app.test_cli_runner().invoke(args=["okta", "check"])
    assert app.config["OKTA_CLIENT_SECRET"] not in result.output + result.stderr


def test_check_fails_when_the_provider_is_down(make_app: Callable[..., Flask], server: MockOktaServer) -> None:
    app = make_app()
    server.fail_next("discovery", status=503, times=5)
    result = app.test_cli_runner().invoke(args=["okta", "check"])
    assert result.exit_code == 1
    assert "discovery at" in result.stderr and "failed" in result.stderr


def test_check_reports_an_unreachable_jwks(make_app: Callable[..., Flask], server: MockOktaServer) -> None:
    app = make_app()
    server.fail_next("keys", status=503, times=5)
    result = app.test_cli_runner().invoke(args=["okta", "check"])
    assert result.exit_code == 1 and "JWKS at" in result.stderr


def test_check_reports_discovery_problems(make_app: Callable[..., Flask], server: MockOktaServer) -> None:
    app = make_app(OKTA_USE_PAR="always")
    wrong = json.dumps({"issuer": "https://other.example", "token_endpoint": "x"})
    server.fail_next("discovery", status=200, body=wrong)
    result = app.test_cli_runner().invoke(args=["okta", "check"])
    assert result.exit_code == 1
    assert "issuer mismatch" in result.stderr and "discovery has no jwks_uri" in result.stderr
    assert "OKTA_USE_PAR is 'always'" in result.stderr


def public_jwk(output: str) -> dict:
    start = output.index("{")
    return json.loads(output[start:output.index("\n}", start) + 2])


def test_keygen_writes_a_private_pem_and_prints_its_jwk(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "okta.pem"
    result = run("keygen", "--out", str(out), "--kid", "my-key")
    assert result.exit_code == 0, result.output + result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    jwk = public_jwk(result.output)
    assert jwk["kid"] == "my-key" and jwk["use"] == "sig" and jwk["alg"] == "RS256" and "d" not in jwk
    key = load_private_key(str(out), "my-key")
    assert key.as_dict(private=False)["n"] == jwk["n"]
    assert f"OKTA_PRIVATE_KEY={out}" in result.output and "OKTA_PRIVATE_KEY_ID=my-key" in result.output


def test_keygen_refuses_to_overwrite_without_force(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "okta.pem"
    out.write_text("keep me")
    out.chmod(0o644)
    result = run("keygen", "--out", str(out))
    assert result.exit_code == 1 and "--force" in result.stderr
    assert out.read_text() == "keep me"
    result = run("keygen", "--out", str(out), "--force", "--size", "3072")
    assert result.exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    key = load_private_key(str(out))
    assert key.private_key.key_size == 3072 and key.kid == public_jwk(result.output)["kid"]


def test_keygen_refuses_small_keys(run: Run, tmp_path: Path) -> None:
    assert run("keygen", "--out", str(tmp_path / "k.pem"), "--size", "1024").exit_code == 2


def test_token_prints_claims_not_the_token(make_app: Callable[..., Flask], server: MockOktaServer) -> None:
    app = make_app()
    result = app.test_cli_runner().invoke(args=["okta", "token", "--scope", "api.read"])
    assert result.exit_code == 0, result.output + result.stderr
    assert '"cid": "%s"' % app.config["OKTA_CLIENT_ID"] in result.output
    assert "Scope: api.read" in result.output and "Expires: " in result.output
    with app.app_context():
        cached = app.extensions["okta"].grants.client_credentials_token("api.read")
    assert cached.access_token not in result.output
    shown = app.test_cli_runner().invoke(args=["okta", "token", "--scope", "api.read", "--show-token"])
    assert f"Access token: {cached.access_token}" in shown.output
    assert server.count("token") == 1


def test_token_failure_exits_1(run: Run) -> None:
    result = run("token", "--scope", "not.allowed")
    assert result.exit_code == 1 and "invalid_scope" in result.stderr


def test_check_says_why_the_issuer_is_unreachable(tmp_path: Path) -> None:
    from tests.transport_faults import closed_port

    app = Flask(__name__)
    app.config.update(OKTA_ISSUER=f"http://127.0.0.1:{closed_port()}/oauth2/default", OKTA_CLIENT_ID="0oa-client",
                      SECRET_KEY="test-secret-key-0123456789abcdefghij")
    OktaClient(app)
    result = app.test_cli_runner().invoke(args=["okta", "check"])
    assert result.exit_code == 1
    assert "the connection was refused" in result.stderr and "check OKTA_ISSUER" in result.stderr


# -- what `check` catches, each with the fix ---------------------------------------------


def check_output(app: Flask) -> Result:
    return app.test_cli_runner().invoke(args=["okta", "check"])


def test_check_confirms_the_client_credentials(make_app: Callable[..., Flask]) -> None:
    result = check_output(make_app())
    assert result.exit_code == 0, result.output + result.stderr
    assert "Client authentication: accepted" in result.output


def test_check_catches_a_wrong_client_secret(make_app: Callable[..., Flask]) -> None:
    app = make_app(OKTA_CLIENT_SECRET="a-wrong-secret-that-looks-right-0123456789")
    result = check_output(app)
    assert result.exit_code == 1
    assert "refused this client's credentials (invalid_client)" in result.stderr
    assert "check OKTA_CLIENT_ID and OKTA_CLIENT_SECRET" in result.stderr
    assert app.config["OKTA_CLIENT_SECRET"] not in result.output + result.stderr


def test_check_catches_an_unknown_private_key(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    make_app().test_cli_runner().invoke(args=["okta", "keygen", "--out", str(key)])
    result = check_output(make_app(OKTA_PRIVATE_KEY=str(key), OKTA_CLIENT_SECRET=None))
    assert result.exit_code == 1
    assert "invalid_client" in result.stderr and "OKTA_PRIVATE_KEY" in result.stderr


def test_check_shows_the_redirect_uris_to_register(make_app: Callable[..., Flask]) -> None:
    result = check_output(make_app())
    assert "redirect_uri: None" not in result.output
    assert "sign-in redirect URI: http://127.0.0.1:5000/authorization-code/callback" in result.output
    assert "sign-out redirect URI: http://127.0.0.1:5000/logout/callback" in result.output
    assert "set OKTA_REDIRECT_URI and OKTA_POST_LOGOUT_REDIRECT_URI, or SERVER_NAME" in result.output


def test_check_shows_the_redirect_uris_for_server_name_and_prefix(make_app: Callable[..., Flask]) -> None:
    result = check_output(make_app(SERVER_NAME="shop.example.com", PREFERRED_URL_SCHEME="https",
                                   OKTA_URL_PREFIX="/auth"))
    assert "sign-in redirect URI: https://shop.example.com/auth/authorization-code/callback" in result.output
    assert "(computed for" not in result.output


def test_check_refuses_a_configured_redirect_uri_the_provider_does_not_know(
        make_app: Callable[..., Flask]) -> None:
    result = check_output(make_app(OKTA_REDIRECT_URI="https://shop.example.com/authorization-code/callback"))
    assert result.exit_code == 1
    assert ("refused a sign-in request for redirect_uri https://shop.example.com/authorization-code/callback"
            in result.stderr)
    assert "register it as a sign-in redirect URI" in result.stderr


def test_check_accepts_a_registered_redirect_uri(server: MockOktaServer) -> None:
    uri = "https://shop.example.com/authorization-code/callback"
    client = server.add_client(MockClient("0oa" + secrets.token_hex(6), secrets.token_urlsafe(32),
                                          redirect_uris=[uri]))
    app = Flask(__name__)
    app.config.update(OKTA_ISSUER=server.issuer, OKTA_CLIENT_ID=client.client_id,
                      OKTA_CLIENT_SECRET=client.client_secret, OKTA_REDIRECT_URI=uri, SECRET_KEY=secrets.token_hex(32))
    OktaClient(app)
    result = check_output(app)
    assert result.exit_code == 0, result.stderr
    assert f"Sign-in request: accepted for redirect_uri {uri}" in result.output


@pytest.mark.parametrize(("store", "shown"), [
    ("session", "token_store: session (sealed in the sign-in cookie)"),
    ("redis://:hunter2-password@127.0.0.1:6390/0", "token_store: Redis at redis://:***@127.0.0.1:6390/0"),
    ("rediss://user:hunter2-password@127.0.0.1:6390/0?password=hunter2-password",
     "token_store: Redis at rediss://user:***@127.0.0.1:6390/0?password=***"),
])
def test_check_shows_the_token_store_kind_without_passwords(make_app: Callable[..., Flask], store: str,
                                                            shown: str) -> None:
    result = check_output(make_app(OKTA_TOKEN_STORE=store))
    assert shown in result.output
    assert "hunter2" not in result.output + result.stderr


def test_check_shows_a_directory_store(make_app: Callable[..., Flask], tmp_path: Path) -> None:
    result = check_output(make_app(OKTA_TOKEN_STORE=str(tmp_path / "tokens")))
    assert f"token_store: directory {tmp_path / 'tokens'}" in result.output


def test_check_catches_introspection_without_an_introspection_endpoint(make_app: Callable[..., Flask],
                                                                      server: MockOktaServer) -> None:
    app = make_app(OKTA_TOKEN_VALIDATION="introspect")
    document = requests.get(f"{server.issuer}/.well-known/openid-configuration", timeout=5).json()
    del document["introspection_endpoint"]
    server.fail_next("discovery", status=200, body=json.dumps(document))
    result = check_output(app)
    assert result.exit_code == 1
    assert "OKTA_TOKEN_VALIDATION is 'introspect' but the provider has no introspection endpoint" in result.stderr
    assert "set it to 'local'" in result.stderr


def test_check_names_the_exact_issuer_when_discovery_differs(make_app: Callable[..., Flask],
                                                            server: MockOktaServer) -> None:
    app = make_app()
    document = requests.get(f"{server.issuer}/.well-known/openid-configuration", timeout=5).json()
    server.fail_next("discovery", status=200, body=json.dumps({**document, "issuer": server.issuer + "/"}))
    result = check_output(app)
    assert result.exit_code == 1
    assert f"set OKTA_ISSUER to exactly {server.issuer + '/'!r} (the trailing slash differs)" in result.stderr


def flask_command(settings: dict[str, object]) -> Result:
    """``flask okta check`` as the ``flask`` command runs it, for an app factory with ``settings``."""
    from click.testing import CliRunner
    from flask.cli import FlaskGroup

    def create_app() -> Flask:
        app = Flask("user_app")
        app.config.update(settings)
        OktaClient(app)
        return app

    return CliRunner().invoke(FlaskGroup(create_app=create_app), ["okta", "check"])


@pytest.mark.parametrize(("settings", "fix"), [
    ({"SECRET_KEY": "change-me"}, "SECRET_KEY"),
    ({"OKTA_ISSUER": ""}, "OKTA_ISSUER"),
    ({"OKTA_ISSUER": "https://dev-123456.okta.com/oauth2/default/"},
     "use 'https://dev-123456.okta.com/oauth2/default'"),
])
def test_check_reports_settings_the_app_refuses_at_start_without_a_traceback(settings: dict[str, object],
                                                                             fix: str) -> None:
    base = {"OKTA_ISSUER": "https://dev-123456.okta.com/oauth2/default", "OKTA_CLIENT_ID": "0oa-client",
            "SECRET_KEY": secrets.token_hex(32)}
    result = flask_command({**base, **settings})
    assert result.exit_code == 1, result.output
    assert "Problems:" in result.stderr and "the app does not start:" in result.stderr and fix in result.stderr
    assert "Traceback" not in result.output + result.stderr and result.exception is None or \
        isinstance(result.exception, SystemExit)


def test_check_says_when_the_app_does_not_use_the_extension() -> None:
    from click.testing import CliRunner
    from flask.cli import FlaskGroup

    result = CliRunner().invoke(FlaskGroup(create_app=lambda: Flask("plain")), ["okta", "check"])
    assert result.exit_code == 1 and "call OktaClient(app)" in result.stderr


def test_check_catches_a_redirect_uri_that_misses_the_callback_route(make_app: Callable[..., Flask]) -> None:
    result = check_output(make_app(OKTA_REDIRECT_URI="https://shop.example.com/callback",
                                   OKTA_POST_LOGOUT_REDIRECT_URI="https://shop.example.com/"))
    assert result.exit_code == 1
    assert "make the URL end with '/authorization-code/callback'" in result.stderr
    assert "make the URL end with '/logout/callback'" in result.stderr


def test_check_accepts_a_redirect_uri_under_a_mount_point(make_app: Callable[..., Flask]) -> None:
    result = check_output(make_app(OKTA_REDIRECT_URI="https://shop.example.com/app/authorization-code/callback"))
    assert "make the URL end with" not in result.stderr


def test_token_reports_settings_the_app_refuses_at_start_without_a_traceback() -> None:
    from click.testing import CliRunner
    from flask.cli import FlaskGroup

    def create_app() -> Flask:
        app = Flask("user_app")
        app.config.update(OKTA_ISSUER="https://dev-123456.okta.com/oauth2/default/", OKTA_CLIENT_ID="0oa-client",
                          SECRET_KEY=secrets.token_hex(32))
        OktaClient(app)
        return app

    result = CliRunner().invoke(FlaskGroup(create_app=create_app), ["okta", "token", "--scope", "api:read"])
    assert result.exit_code == 1 and "the app does not start: OKTA_ISSUER must not end with '/'" in result.stderr


def test_check_does_not_log_the_expected_refusal_of_its_made_up_code(make_app: Callable[..., Flask],
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    result = check_output(make_app())
    assert "Client authentication: accepted" in result.output
    assert not [record for record in caplog.records if "credentials check" in record.getMessage()]


def test_check_says_how_bearer_tokens_are_validated(make_app: Callable[..., Flask]) -> None:
    result = check_output(make_app(OKTA_AUDIENCE="api://orders"))
    assert "Bearer tokens: validated locally against the JWKS, audience 'api://orders' " \
           "(OKTA_TOKEN_VALIDATION=auto)" in result.output


def test_check_says_when_bearer_tokens_are_introspected(make_app: Callable[..., Flask],
                                                       server: MockOktaServer) -> None:
    result = check_output(make_app(OKTA_TOKEN_VALIDATION="introspect"))
    assert (f"Bearer tokens: introspected at {server.issuer}/v1/introspect (OKTA_TOKEN_VALIDATION=introspect)"
            in result.output)


def test_check_fetches_discovery_once(make_app: Callable[..., Flask], server: MockOktaServer) -> None:
    result = check_output(make_app())
    assert result.exit_code == 0, result.stderr
    assert server.count("discovery") == 1


def sent_authorization_requests(app: Flask, server: MockOktaServer) -> list[dict[str, list[str]]]:
    """The queries of the authorization requests the app's provider session sends, as they are sent."""
    sent: list[dict[str, list[str]]] = []

    def record(response: requests.Response, **_: object) -> None:
        if response.request.url.startswith(server.endpoint_url("authorize")):
            sent.append(parse_qs(urlsplit(response.request.url).query))

    app.extensions["okta"].http.session.hooks["response"].append(record)
    return sent


def test_check_sign_in_probe_sends_what_a_sign_in_sends(server: MockOktaServer) -> None:
    uri = "https://shop.example.com/authorization-code/callback"
    client = server.add_client(MockClient("0oa" + secrets.token_hex(6), secrets.token_urlsafe(32),
                                          redirect_uris=[uri]))
    app = Flask(__name__)
    app.config.update(OKTA_ISSUER=server.issuer, OKTA_CLIENT_ID=client.client_id, OKTA_DPOP=True,
                      OKTA_CLIENT_SECRET=client.client_secret, OKTA_REDIRECT_URI=uri, SECRET_KEY=secrets.token_hex(32))
    OktaClient(app)
    sent = sent_authorization_requests(app, server)
    result = check_output(app)
    assert result.exit_code == 0, result.stderr
    assert "Sign-in request: accepted" in result.output
    [query] = sent
    assert query["dpop_jkt"] == [app.extensions["okta"].dpop.key.thumbprint]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43


def discovery_of(server: MockOktaServer) -> dict:
    return requests.get(f"{server.issuer}/.well-known/openid-configuration", timeout=5).json()


@pytest.mark.parametrize(("settings", "change", "problem"), [
    ({"OKTA_USE_PAR": "never"}, {"require_pushed_authorization_requests": True},
     "the provider requires pushed authorization requests but OKTA_USE_PAR is 'never'"),
    ({"OKTA_USE_USERINFO": True}, {"userinfo_endpoint": None},
     "OKTA_USE_USERINFO is on but the provider has no userinfo endpoint"),
    ({"OKTA_CLIENT_AUTH_METHOD": "client_secret_jwt"}, {"token_endpoint_auth_methods_supported":
                                                        ["client_secret_basic", "private_key_jwt"]},
     "the provider does not support OKTA_CLIENT_AUTH_METHOD=client_secret_jwt"),
], ids=["par-required", "no-userinfo", "auth-method"])
def test_check_names_a_setting_the_provider_cannot_serve(make_app: Callable[..., Flask], server: MockOktaServer,
                                                        settings: dict, change: dict, problem: str) -> None:
    app = make_app(**settings)
    document = {**discovery_of(server), **change}
    server.fail_next("discovery", status=200, body=json.dumps({k: v for k, v in document.items() if v is not None}))
    result = check_output(app)
    assert result.exit_code == 1
    assert problem in result.stderr


@pytest.mark.parametrize("settings", [{"OKTA_USE_PAR": "never"}, {"OKTA_USE_USERINFO": True}])
def test_check_passes_the_same_settings_when_the_provider_serves_them(make_app: Callable[..., Flask],
                                                                     settings: dict) -> None:
    result = check_output(make_app(**settings))
    assert result.exit_code == 0, result.output + result.stderr
