"""The sign-in flow against the embedded mock Okta server."""

from __future__ import annotations

import logging

import pytest

from flask_okta_client import signals
from flask_okta_client.errors import ConfigError
from tests.site import local, make_site, query, sign_in, start_login


def test_login_redirects_to_authorize_with_pkce_state_and_nonce(client, okta_mock_server):
    location = start_login(client)
    params = query(location)
    assert location.startswith(okta_mock_server.endpoint_url("authorize") + "?")
    assert params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 22 and len(params["nonce"]) >= 22
    assert params["scope"] == "openid profile email"
    assert params["redirect_uri"] == "http://localhost/authorization-code/callback"


def test_each_login_gets_fresh_state_nonce_and_verifier(client):
    first, second = query(start_login(client)), query(start_login(client))
    for name in ("state", "nonce", "code_challenge"):
        assert first[name] != second[name]


def test_login_passes_prompt_login_hint_max_age_and_acr_values(client):
    params = query(start_login(client, prompt="login", login_hint="ann@example.com", max_age="300",
                               acr_values="urn:okta:loa:2fa:any"))
    assert params["prompt"] == "login"
    assert params["login_hint"] == "ann@example.com"
    assert params["max_age"] == "300"
    assert params["acr_values"] == "urn:okta:loa:2fa:any"


def test_sign_in_lands_on_the_next_url_as_the_user(client, okta_mock_server):
    response = sign_in(client, okta_mock_server, "alice")
    assert response.status_code == 302
    assert response.headers["Location"] == "/protected"
    page = client.get("/protected")
    assert page.status_code == 200
    assert "protected for 00u" in page.get_data(as_text=True)


def test_sign_in_with_pushed_authorization_request(okta_settings, okta_mock_server):
    client = make_site(okta_settings, OKTA_USE_PAR="always").test_client()
    location = start_login(client)
    assert set(query(location)) == {"client_id", "request_uri"}
    assert okta_mock_server.count("par") == 1
    response = client.get(local(okta_mock_server.login(location, "alice")))
    assert response.headers["Location"] == "/protected"


def test_failed_pushed_authorization_request_is_an_error_not_a_downgrade(okta_settings, okta_mock_server):
    client = make_site(okta_settings, OKTA_USE_PAR="always").test_client()
    okta_mock_server.fail_next("par", status=400, body='{"error": "invalid_request"}')
    response = client.get("/login")
    assert response.status_code in (400, 502)
    assert "Location" not in response.headers


def test_callback_answers_with_no_referrer_and_no_store(client, okta_mock_server):
    response = sign_in(client, okta_mock_server)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_profile_shows_every_id_token_claim(client, okta_mock_server):
    sign_in(client, okta_mock_server, "carol")
    page = client.get("/profile").get_data(as_text=True)
    for claim in ("iss", "aud", "sub", "email", "nonce", "auth_time"):
        assert f"<code>{claim}</code>" in page
    assert "carol@example.com" in page


def test_callback_replayed_by_a_signed_in_user_goes_to_the_landing_page(client, okta_mock_server):
    callback = okta_mock_server.login(start_login(client), "alice")
    client.get(local(callback))
    again = client.get(local(callback))
    assert again.status_code == 302
    assert again.headers["Location"] == "/"


def test_callback_replayed_in_another_browser_asks_to_sign_in_again(app, client, okta_mock_server):
    callback = okta_mock_server.login(start_login(client), "alice")
    client.get(local(callback))
    stranger = app.test_client()
    response = stranger.get(local(callback))
    assert response.status_code == 400
    assert "sign in again" in response.get_data(as_text=True).lower()
    assert stranger.get("/").get_data(as_text=True) == "home anonymous"


def test_callback_without_the_session_cookie_logs_the_likely_cause(app, client, okta_mock_server, caplog):
    # As when sign-in starts on http://127.0.0.1 but the redirect URI names http://localhost.
    callback = okta_mock_server.login(start_login(client), "alice")
    with caplog.at_level(logging.WARNING, logger="flask_okta_client"):
        response = app.test_client().get(local(callback))
    assert response.status_code == 400
    assert "without this site's session cookie" in caplog.text
    assert "http://localhost/authorization-code/callback" in caplog.text
    assert query(callback)["code"] not in caplog.text


def test_callback_with_tampered_state_signs_nobody_in(client, okta_mock_server, caplog):
    caplog.set_level(logging.WARNING, logger="flask_okta_client")
    callback = okta_mock_server.login(start_login(client), "alice")
    response = client.get(local(callback.replace("state=", "state=x")))
    assert response.status_code == 400
    assert client.get("/").get_data(as_text=True) == "home anonymous"
    assert "session cookie" not in caplog.text  # the cookie came; the state is what is wrong


def test_callback_from_a_login_started_in_another_browser_is_refused(app, client, okta_mock_server):
    attacker = app.test_client()
    callback = okta_mock_server.login(start_login(attacker), "mallory")
    start_login(client)
    response = client.get(local(callback))
    assert response.status_code == 400
    assert client.get("/").get_data(as_text=True) == "home anonymous"


def test_callback_with_another_issuer_is_refused(client, okta_mock_server):
    callback = okta_mock_server.login(start_login(client), "alice")
    response = client.get(local(callback).replace("iss=", "iss=https%3A%2F%2Fevil.example%2F"))
    assert response.status_code == 400
    assert "invalid_issuer" in response.get_data(as_text=True)


def test_callback_without_iss_is_refused_when_discovery_promises_it(client, okta_mock_server):
    callback = local(okta_mock_server.login(start_login(client), "alice"))
    params = query(callback)
    response = client.get("/authorization-code/callback", query_string={"code": params["code"], "state": params["state"]})
    assert response.status_code == 400
    assert "invalid_issuer" in response.get_data(as_text=True)


def test_callback_without_code_is_refused(client, okta_mock_server):
    state = query(start_login(client))["state"]
    response = client.get("/authorization-code/callback",
                          query_string={"state": state, "iss": okta_mock_server.issuer})
    assert response.status_code == 400


def test_provider_error_is_shown_with_its_code_and_description(client, okta_mock_server):
    state = query(start_login(client))["state"]
    response = client.get("/authorization-code/callback", query_string={
        "state": state, "iss": okta_mock_server.issuer,
        "error": "access_denied", "error_description": "User is not assigned to the client application.",
    })
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "access_denied" in page
    assert "User is not assigned to the client application." in page


def test_provider_error_text_is_escaped(client, okta_mock_server):
    state = query(start_login(client))["state"]
    response = client.get("/authorization-code/callback", query_string={
        "state": state, "iss": okta_mock_server.issuer, "error": "x", "error_description": "<script>alert(1)</script>",
    })
    assert "<script>alert(1)</script>" not in response.get_data(as_text=True)


def test_error_from_an_unknown_sign_in_does_not_reflect_its_text(client):
    response = client.get("/authorization-code/callback", query_string={
        "state": "forged", "error": "access_denied", "error_description": "Call 555-0100 to restore your account",
    })
    assert response.status_code == 400
    assert "555-0100" not in response.get_data(as_text=True)


@pytest.mark.parametrize("next_url", [
    "//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "/\t/evil.example",
])
def test_next_url_elsewhere_lands_on_the_default_page(client, okta_mock_server, next_url):
    response = sign_in(client, okta_mock_server, next_url=next_url)
    assert response.headers["Location"] == "/"


def test_two_tabs_signing_in_at_once_both_complete(app, client, okta_mock_server):
    first = start_login(client, "/first")
    second = start_login(client, "/second")
    assert client.get(local(okta_mock_server.login(second, "alice"))).headers["Location"] == "/second"
    assert client.get(local(okta_mock_server.login(first, "alice"))).headers["Location"] == "/first"


def test_pending_sign_ins_are_capped(okta_settings, okta_mock_server):
    """README: that many can finish; one more drops only the oldest."""
    client = make_site(okta_settings, OKTA_MAX_PENDING_LOGINS=2).test_client()
    oldest = start_login(client, "/oldest")
    second = start_login(client, "/b")
    third = start_login(client, "/c")
    response = client.get(local(okta_mock_server.login(oldest, "alice")))
    assert response.status_code == 400
    assert client.get(local(okta_mock_server.login(third, "alice"))).headers["Location"] == "/c"
    assert client.get(local(okta_mock_server.login(second, "alice"))).headers["Location"] == "/b"


def test_sign_in_keeps_other_session_data_and_renews_the_csrf_token(app, client, okta_mock_server):
    with client.session_transaction() as session:
        session["cart"] = ["book"]
        session["_okta_csrf"] = "planted-by-attacker"
    sign_in(client, okta_mock_server)
    with client.session_transaction() as session:
        assert session["cart"] == ["book"]
        assert session.get("_okta_csrf") != "planted-by-attacker"


def test_signed_in_signal_carries_the_user(app, client, okta_mock_server):
    seen = []
    with signals.user_logged_in.connected_to(lambda sender, user: seen.append(user.email), app):
        sign_in(client, okta_mock_server, "dave")
    assert seen == ["dave@example.com"]


def test_login_failed_signal_on_a_refused_callback(app, client, okta_mock_server):
    seen = []
    with signals.login_failed.connected_to(lambda sender, error: seen.append(error.error), app):
        callback = okta_mock_server.login(start_login(client), "alice")
        client.get(local(callback).replace("iss=", "iss=x"))
    assert seen == ["invalid_issuer"]


def test_after_login_can_veto_a_sign_in(okta_settings, okta_mock_server):
    from flask import Flask

    from flask_okta_client import AccessDenied, OktaClient, current_user

    app = Flask(__name__)
    app.config.update(SECRET_KEY="k" * 32, OKTA_USE_PAR="never", **okta_settings)
    okta = OktaClient(app)

    @okta.after_login
    def only_staff(user):
        if "Staff" not in user.groups:
            raise AccessDenied("Only staff may sign in here.")

    app.add_url_rule("/", "home", lambda: "signed in" if current_user.is_authenticated else "anonymous")
    client = app.test_client()
    response = sign_in(client, okta_mock_server, "intruder")
    assert response.status_code == 403
    assert client.get("/").get_data(as_text=True) == "anonymous"


def test_missing_client_id_fails_at_init_app_naming_the_key(okta_mock_server):
    with pytest.raises(ConfigError, match="OKTA_CLIENT_ID"):
        make_site({"OKTA_ISSUER": okta_mock_server.issuer})


def test_one_extension_serves_two_apps(okta_settings, okta_mock_server):
    from flask import Flask

    from flask_okta_client import OktaClient

    okta = OktaClient()
    apps = [Flask(f"app{i}") for i in range(2)]
    for i, app in enumerate(apps):
        app.config.update(SECRET_KEY="s" * 32, **okta_settings, OKTA_DEFAULT_REDIRECT=f"/home{i}")
        okta.init_app(app)
    for i, app in enumerate(apps):
        with app.app_context():
            assert okta.config.default_redirect == f"/home{i}"


def test_logs_never_contain_tokens_or_the_client_secret(client, okta_mock_server, okta_settings, caplog):
    caplog.set_level(logging.DEBUG, logger="flask_okta_client")
    callback = okta_mock_server.login(start_login(client), "alice")
    code = query(callback)["code"]
    client.get(local(callback))
    client.get(local(callback))  # replay
    client.get(local(callback).replace("iss=", "iss=x"))
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "flask_okta_client")
    assert code not in logged
    assert okta_settings["OKTA_CLIENT_SECRET"] not in logged


def test_userinfo_claims_are_merged_when_configured(okta_settings, okta_mock_server):
    okta_mock_server.set_user("uma", groups=["Staff"])
    app = make_site(okta_settings, OKTA_USE_USERINFO=True)
    client = app.test_client()
    sign_in(client, okta_mock_server, "uma")
    assert okta_mock_server.count("userinfo") == 1
    assert client.get("/staff").status_code == 200


def test_userinfo_for_another_subject_refuses_the_sign_in(okta_settings, okta_mock_server):
    app = make_site(okta_settings, OKTA_USE_USERINFO=True)
    client = app.test_client()
    callback = okta_mock_server.login(start_login(client), "victor")
    okta_mock_server.fail_next("userinfo", status=200, body='{"sub": "00u-somebody-else"}')
    response = client.get(local(callback))
    assert response.status_code == 400
    assert "invalid_userinfo" in response.get_data(as_text=True)
    assert client.get("/").get_data(as_text=True) == "home anonymous"


@pytest.mark.parametrize("repeated", ["iss", "code", "state"])
def test_a_callback_repeating_a_parameter_signs_nobody_in(client, okta_mock_server, repeated):
    """RFC 6749 §3.1: response parameters must not be included more than once; which copy counts is not guessed."""
    params = query(local(okta_mock_server.login(start_login(client), "alice")))
    decoy = {"iss": "https://evil.example", "code": "another-code", "state": "another-state"}[repeated]
    pairs = [*params.items(), (repeated, decoy)]
    response = client.get("/authorization-code/callback", query_string=pairs)
    assert response.status_code == 400
    assert "invalid_request" in response.get_data(as_text=True)
    assert client.get("/").get_data(as_text=True) == "home anonymous"
