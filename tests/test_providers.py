"""Several providers in one app: named registrations beside the default one."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask, url_for

from flask_okta_client import OktaClient, signals
from flask_okta_client.config import load_config
from flask_okta_client.errors import ConfigError, TokenValidationError
from flask_okta_client.testing import MockOktaServer, TestTokens
from flask_okta_client.testing.tokens import set_sign_in_cookie
from tests.providers_site import (
    add_staff_client,
    make_two_provider_site,
    staff_settings,
    staff_sign_in,
    start_staff_login,
)
from tests.site import csrf_token, local, make_site, query, sign_in, start_login


@pytest.fixture(scope="module")
def staff_server() -> Iterator[MockOktaServer]:
    """The workforce org: a second issuer."""
    with MockOktaServer(auth_server_id="staff", audience="api://staff") as server:
        yield server


@pytest.fixture
def staff_config(staff_server):
    staff_server.reset()
    return staff_settings(staff_server, add_staff_client(staff_server))


@pytest.fixture
def app(okta_settings, staff_config):
    return make_two_provider_site({**okta_settings, **staff_config})


@pytest.fixture
def client(app):
    return app.test_client()


def who(client) -> dict:
    return client.get("/who").get_json()


# -- registrations and settings ----------------------------------------------


def test_an_app_with_one_provider_keeps_its_state_where_it_was(okta_settings):
    app = make_site(okta_settings)
    state = app.extensions["okta"]
    assert app.extensions["okta_providers"] == {"okta": state}
    assert state.name == "okta" and state.config.settings_prefix == "OKTA_"
    with app.test_request_context():
        assert url_for("okta.login") == "/login"


def test_the_named_registration_reads_its_own_prefixed_settings(app, staff_server):
    staff = app.extensions["okta_providers"]["staff"]
    assert staff.config.issuer == staff_server.issuer
    assert staff.config.audience == "api://staff"
    assert app.extensions["okta"].config.audience == "api://default"
    assert list(app.extensions["okta_providers"]) == ["okta", "staff"]


def test_a_named_registration_never_falls_back_to_the_okta_settings(okta_settings):
    app = make_site(okta_settings)
    with pytest.raises(ConfigError) as raised:
        OktaClient(app, name="staff")
    assert "STAFF_ISSUER is not set" in raised.value.description
    assert "OKTA_" not in raised.value.description


def test_config_errors_name_the_registration_s_real_settings(okta_settings, staff_config):
    app = make_site(okta_settings)
    app.config.update({**staff_config, "STAFF_SCOPES": "profile email"})
    with pytest.raises(ConfigError, match="^STAFF_SCOPES must include 'openid'"):
        OktaClient(app, name="staff")


def test_config_prefix_overrides_the_name(okta_settings, staff_server):
    client = add_staff_client(staff_server)
    app = make_site(okta_settings, WORKFORCE_ISSUER=staff_server.issuer, WORKFORCE_CLIENT_ID=client.client_id)
    staff = OktaClient(app, name="staff", config_prefix="WORKFORCE_")
    with app.app_context():
        assert staff.config.client_id == client.client_id
        assert staff.config.settings_prefix == "WORKFORCE_"


def test_prefixed_settings_come_from_the_environment_too(staff_server):
    config = load_config({}, {"STAFF_ISSUER": staff_server.issuer, "STAFF_CLIENT_ID": "0oa-env",
                              "OKTA_CLIENT_ID": "0oa-not-this"}, name="staff", prefix="STAFF_")
    assert (config.issuer, config.client_id) == (staff_server.issuer, "0oa-env")
    assert config.url_prefix == "/staff" and config.session_cookie_name == "staff_session"


def test_an_okta_json_in_the_working_directory_is_the_default_registration_s_only(tmp_path, monkeypatch,
                                                                                staff_server):
    (tmp_path / "okta.json").write_text('{"issuer": "%s", "client_id": "0oa-file"}' % staff_server.issuer)
    monkeypatch.chdir(tmp_path)
    assert load_config({}, {}).client_id == "0oa-file"
    with pytest.raises(ConfigError, match="STAFF_ISSUER is not set"):
        load_config({}, {}, name="staff", prefix="STAFF_")


def test_registering_a_name_twice_is_refused(app):
    with pytest.raises(ConfigError, match="'staff' is already registered"):
        OktaClient(app, name="staff")


@pytest.mark.parametrize("name", ["", "staff.admins", "9lives", "st aff", "staff/x", "s" * 41])
def test_a_registration_name_must_be_a_plain_word(name):
    with pytest.raises(ConfigError, match="name"):
        OktaClient(name=name)


def test_two_registrations_cannot_share_a_sign_in_cookie(okta_settings, staff_config):
    app = make_site(okta_settings)
    app.config.update({**staff_config, "STAFF_SESSION_COOKIE_NAME": "okta_session"})
    with pytest.raises(ConfigError, match="STAFF_SESSION_COOKIE_NAME is 'okta_session', like OKTA_SESSION_COOKIE_NAME"):
        OktaClient(app, name="staff")


@pytest.mark.parametrize("settings, refused", [
    ({"STAFF_URL_PREFIX": ""}, "STAFF_URL_PREFIX is '', like OKTA_URL_PREFIX"),
    ({"OKTA_SESSION_ENDPOINT": "/session", "STAFF_SESSION_ENDPOINT": "/session"},
     "STAFF_SESSION_ENDPOINT is '/session', like OKTA_SESSION_ENDPOINT"),
])
def test_two_registrations_cannot_share_routes(okta_settings, staff_config, settings, refused):
    app = make_site(okta_settings, **{k: v for k, v in settings.items() if k.startswith("OKTA_")})
    app.config.update({**staff_config, **settings})
    with pytest.raises(ConfigError, match=re.escape(refused)):
        OktaClient(app, name="staff")
    assert list(app.extensions["okta_providers"]) == ["okta"]


def test_a_provider_is_not_named_like_a_blueprint_of_the_app(okta_settings, staff_config):
    from flask import Blueprint

    app = make_site({**okta_settings, **staff_config})
    app.register_blueprint(Blueprint("staff", __name__))
    with pytest.raises(ConfigError, match="blueprint named 'staff'"):
        OktaClient(app, name="staff")
    assert "staff" not in app.extensions["okta_providers"]


@pytest.mark.parametrize("switch", ["REQUIRE_LOGIN", "SILENT_LOGIN"])
def test_an_app_wide_switch_is_on_for_one_registration_at_most(okta_settings, staff_config, switch):
    app = make_site(okta_settings, **{f"OKTA_{switch}": True})
    app.config.update({**staff_config, f"STAFF_{switch}": True})
    with pytest.raises(ConfigError, match=f"STAFF_{switch} and OKTA_{switch} are both on"):
        OktaClient(app, name="staff")


def test_an_app_with_only_named_registrations_takes_the_first_as_default(staff_config, staff_server):
    app = Flask(__name__)
    app.config.update({**staff_config, "SECRET_KEY": "test-secret-key-0123456789abcdefghij"})
    staff = OktaClient(app, name="staff")
    assert app.extensions["okta"] is app.extensions["okta_providers"]["staff"]

    @app.get("/area")
    @staff.login_required
    def area() -> str:
        return "area"

    response = app.test_client().get("/area")
    assert response.headers["Location"] == "/staff/login?next=/area"


# -- routes ------------------------------------------------------------------


def test_the_named_registration_serves_its_routes_under_its_name(app):
    with app.test_request_context():
        assert url_for("staff.login") == "/staff/login"
        assert url_for("staff.callback") == "/staff/authorization-code/callback"
        assert url_for("staff.logout") == "/staff/logout"
        assert url_for("staff.profile") == "/staff/profile"
        assert url_for("okta.login") == "/login"


def test_a_url_prefix_setting_moves_the_named_routes(okta_settings, staff_config):
    app = make_two_provider_site({**okta_settings, **staff_config}, STAFF_URL_PREFIX="/workforce")
    with app.test_request_context():
        assert url_for("staff.callback") == "/workforce/authorization-code/callback"


def test_staff_sign_in_starts_at_the_staff_issuer_with_its_own_redirect_uri(client, staff_server):
    location = start_staff_login(client)
    assert location.startswith(staff_server.endpoint_url("authorize") + "?")
    assert query(location)["redirect_uri"] == "http://localhost/staff/authorization-code/callback"


def test_staff_sign_in_completes_and_sets_its_own_cookie(client, staff_server):
    response = staff_sign_in(client, staff_server, "sam")
    assert response.headers["Location"] == "/staff-area"
    assert client.get_cookie("staff_session") is not None
    assert client.get_cookie("okta_session") is None
    page = client.get("/staff-area").get_data(as_text=True)
    assert page.startswith("staff area for staff 00u")


def test_the_named_profile_and_its_sign_out_form_are_the_named_registration_s(client, staff_server):
    staff_sign_in(client, staff_server, "sam")
    page = client.get("/staff/profile").get_data(as_text=True)
    assert 'action="/staff/logout"' in page
    assert "sam@example.com" in page
    assert client.get("/profile").headers["Location"] == "/login?next=/profile"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_the_named_login_route_refuses_foreign_next_urls(client, staff_server, next_url):
    response = staff_sign_in(client, staff_server, next_url=next_url)
    assert response.headers["Location"] == "/"


def test_an_error_on_a_named_route_offers_to_sign_in_there_again(client):
    page = client.get("/staff/authorization-code/callback?state=nothing&code=x")
    assert page.status_code == 400
    assert 'href="/staff/login"' in page.get_data(as_text=True)


# -- independent sign-ins ----------------------------------------------------


def test_a_customer_visiting_a_staff_page_signs_in_there_and_keeps_the_customer_sign_in(
        client, okta_mock_server, staff_server):
    sign_in(client, okta_mock_server, "alice")
    customer = who(client)["okta"]
    response = client.get("/staff-area")
    assert response.headers["Location"] == "/staff/login?next=/staff-area"
    assert staff_sign_in(client, staff_server, "sam").headers["Location"] == "/staff-area"
    both = who(client)
    assert both["okta"] == customer and both["staff"] is not None and both["staff"] != customer
    assert client.get("/protected").get_data(as_text=True) == f"protected for {customer}"


def test_signing_out_of_one_provider_leaves_the_other_signed_in(client, okta_mock_server, staff_server):
    sign_in(client, okta_mock_server, "alice")
    staff_sign_in(client, staff_server, "sam")
    token = csrf_token(client, "/staff/logout")
    response = client.post("/staff/logout", data={"csrf_token": token})
    assert response.headers["Location"].startswith(staff_server.endpoint_url("logout"))
    assert query(response.headers["Location"])["post_logout_redirect_uri"] == "http://localhost/staff/logout/callback"
    after = who(client)
    assert after["staff"] is None and after["okta"] is not None
    assert client.get("/protected").status_code == 200


def test_the_sign_out_return_of_one_provider_is_not_the_other_s(client, okta_mock_server, staff_server):
    staff_sign_in(client, staff_server, "sam")
    response = client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/logout")})
    state = query(response.headers["Location"])["state"]
    assert client.get(f"/logout/callback?state={state}").status_code == 400
    assert client.get(f"/staff/logout/callback?state={state}").status_code == 302


def test_a_refused_staff_refresh_ends_only_the_staff_sign_in(app, client, okta_mock_server, staff_server):
    sign_in(client, okta_mock_server, "alice")
    TestTokens(staff_server, client_id=app.extensions["okta_providers"]["staff"].config.client_id).sign_in(
        client, "sam", provider="staff", refresh_token="revoked", access_token_lifetime=0)
    ended = []
    with signals.refresh_failed.connected_to(lambda sender, **kw: ended.append(kw["provider"]), app):
        assert client.get("/staff-area").headers["Location"] == "/staff/login?next=/staff-area"
    assert ended == ["staff"]
    assert who(client)["okta"] is not None


# -- current_user ------------------------------------------------------------


def test_current_user_is_the_guarding_provider_s_user(client, okta_mock_server, staff_server):
    sign_in(client, okta_mock_server, "alice")
    staff_sign_in(client, staff_server, "sam")
    assert client.get("/staff-bound").get_data(as_text=True) == "staff bound for staff"
    assert who(client)["provider"] == "okta"  # unguarded: the first registration signed in


def test_current_user_on_an_unguarded_page_is_the_first_provider_signed_in(client, staff_server):
    assert who(client)["provider"] is None
    staff_sign_in(client, staff_server, "sam")
    answer = who(client)
    assert answer["provider"] == "staff" and answer["sub"] == answer["staff"]
    assert answer["okta"] is None


def test_the_staff_guard_checks_claims_of_the_staff_sign_in(client, okta_mock_server, staff_server):
    okta_mock_server.set_user("alice", groups=["Admins"])
    sign_in(client, okta_mock_server, "alice")
    staff_sign_in(client, staff_server, "sam")
    assert client.get("/staff-admins").status_code == 403


def test_signals_of_an_app_with_several_providers_name_the_provider(app, client, okta_mock_server,
                                                                    staff_server):
    received = []
    with signals.user_logged_in.connected_to(lambda sender, user, **kw: received.append((user.provider, kw)), app):
        sign_in(client, okta_mock_server, "alice")
        staff_sign_in(client, staff_server, "sam")
    assert received == [("okta", {"provider": "okta"}), ("staff", {"provider": "staff"})]


# -- attacks -----------------------------------------------------------------


def test_mix_up_a_code_from_the_customer_issuer_at_the_staff_callback_is_refused(
        client, okta_mock_server, staff_server):
    start_staff_login(client)
    customer_return = okta_mock_server.login(start_login(client, "/protected"), "alice")
    callback = urlsplit(customer_return)
    refused = client.get(f"/staff/authorization-code/callback?{callback.query}")
    assert refused.status_code == 400
    assert okta_mock_server.count("token") == 0 and staff_server.count("token") == 0
    assert who(client)["staff"] is None
    accepted = client.get(local(customer_return))  # nothing lost: the real callback still works
    assert accepted.headers["Location"] == "/protected"


def test_mix_up_a_code_from_the_staff_issuer_at_the_customer_callback_is_refused(
        client, okta_mock_server, staff_server):
    start_login(client)
    staff_return = staff_server.login(start_staff_login(client), "sam")
    refused = client.get(f"/authorization-code/callback?{urlsplit(staff_return).query}")
    assert refused.status_code == 400
    assert staff_server.count("token") == 0
    assert client.get(local(staff_return)).headers["Location"] == "/staff-area"
    assert who(client)["okta"] is None


def test_tokens_of_one_issuer_are_refused_by_the_other_registration(app, okta_mock_server, staff_server):
    staff_tokens = TestTokens(staff_server, audience="api://default")
    customer_tokens = TestTokens(okta_mock_server, audience="api://staff")
    client = app.test_client()
    staff_token, customer_token = staff_tokens.access_token(), customer_tokens.access_token()
    assert client.get("/api/customers", headers={"Authorization": f"Bearer {staff_token}"}).status_code == 401
    assert client.get("/api/staff", headers={"Authorization": f"Bearer {customer_token}"}).status_code == 401
    right = TestTokens(staff_server, audience="api://staff").access_token(username="sam")
    assert client.get("/api/staff", headers={"Authorization": f"Bearer {right}"}).get_json() == {
        "sub": "sam@example.com"}
    staff_state = app.extensions["okta_providers"]["staff"]
    with app.app_context():
        with pytest.raises(TokenValidationError):
            app.extensions["okta"].verifier.verify_id_token(staff_tokens.id_token(), nonce=None)
        with pytest.raises(TokenValidationError):
            staff_state.verifier.verify_id_token(
                TestTokens(okta_mock_server, client_id=staff_state.config.client_id).id_token(), nonce=None)


def test_current_user_under_a_staff_bearer_guard_is_the_staff_sign_in(app, client, okta_mock_server, staff_server):
    sign_in(client, okta_mock_server, "alice")  # the browser is signed in with the customer registration only
    token = TestTokens(staff_server, audience="api://staff").access_token(username="sam")
    response = client.get("/api/staff-who", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json() == {"provider": None, "sub": None}  # nobody signed in with staff, not alice


@pytest.mark.parametrize("store", ["session", "directory"])
def test_a_sign_in_cookie_of_one_registration_is_nothing_to_the_other(okta_settings, staff_config, staff_server,
                                                                    tmp_path, store):
    stores = {} if store == "session" else {"OKTA_TOKEN_STORE": str(tmp_path), "STAFF_TOKEN_STORE": str(tmp_path)}
    app = make_two_provider_site({**okta_settings, **staff_config, **stores})
    client = app.test_client()
    staff_sign_in(client, staff_server, "sam")
    staff_cookie = client.get_cookie("staff_session").value
    set_sign_in_cookie(client, staff_cookie)  # the staff sign-in as the customer cookie
    client.delete_cookie("staff_session")
    assert who(client) == {"provider": None, "sub": None, "okta": None, "staff": None}
    assert client.get("/protected").status_code == 302


def test_two_clients_of_one_issuer_keep_their_sign_ins_apart(okta_settings, okta_mock_server, tmp_path):
    """Same issuer, same user, same server-side store: the seals still belong to one registration."""
    staff_client = add_staff_client(okta_mock_server)
    app = make_two_provider_site({**okta_settings, **staff_settings(okta_mock_server, staff_client),
                                  "OKTA_TOKEN_STORE": str(tmp_path), "STAFF_TOKEN_STORE": str(tmp_path)})
    client = app.test_client()
    staff_sign_in(client, okta_mock_server, "alice")
    set_sign_in_cookie(client, client.get_cookie("staff_session").value)
    assert who(client)["okta"] is None


def test_a_staff_only_page_answers_api_calls_with_401_not_a_redirect(client):
    response = client.get("/staff-area", headers={"Accept": "application/json"})
    assert response.status_code == 401


def test_pending_sign_ins_are_kept_per_registration(client):
    with client.session_transaction() as session:
        assert not session
    start_login(client)
    start_staff_login(client)
    with client.session_transaction() as session:
        assert len(session["_okta_logins"]) == 1
        assert len(session["_okta_logins:staff"]) == 1


def test_the_named_registration_s_back_channel_logout_route_is_its_own(okta_settings, staff_config):
    app = make_two_provider_site({**okta_settings, **staff_config}, STAFF_BACKCHANNEL_LOGOUT=True)
    with app.test_request_context():
        assert url_for("staff.backchannel_logout") == "/staff/backchannel-logout"
    assert not any(rule.endpoint == "okta.backchannel_logout" for rule in app.url_map.iter_rules())


def test_the_named_session_endpoint_tells_about_the_named_sign_in(okta_settings, staff_config, okta_mock_server,
                                                                 staff_server):
    app = make_two_provider_site({**okta_settings, **staff_config}, STAFF_SESSION_ENDPOINT="/staff-session")
    client = app.test_client()
    sign_in(client, okta_mock_server, "alice")
    headers = {"X-Requested-With": "fetch"}
    assert client.get("/staff-session", headers=headers).get_json() == {
        "authenticated": False, "login_url": "/staff/login"}
    staff_sign_in(client, staff_server, "sam")
    answer = client.get("/staff-session", headers=headers).get_json()
    assert answer["authenticated"] is True and answer["claims"]["email"] == "sam@example.com"


def test_the_named_event_hook_reads_its_own_secret(okta_settings, staff_config):
    app = make_site(okta_settings)
    app.config.update({**staff_config, "STAFF_EVENT_HOOK_SECRET": secrets.token_urlsafe(24)})
    staff = OktaClient(app, name="staff")
    staff.event_hook(app)
    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == "staff_event_hook")
    assert rule.rule == "/hooks/staff"
    okta = OktaClient(name="okta")
    with pytest.raises(ConfigError, match="OKTA_EVENT_HOOK_SECRET must be set"):
        okta.event_hook(app)


def test_the_testing_helpers_sign_in_with_a_named_registration(app, client, staff_server):
    tokens = TestTokens(staff_server, client_id=app.extensions["okta_providers"]["staff"].config.client_id)
    user = tokens.sign_in(client, "sam", provider="staff")
    assert user.provider == "staff"
    assert who(client)["staff"] == user.sub
    with pytest.raises(ValueError, match="signs in at"):
        tokens.sign_in(client, "sam")  # the default registration's issuer is another server


def test_no_packaged_template_names_the_default_registration():
    from pathlib import Path

    import flask_okta_client

    folder = Path(flask_okta_client.__file__).parent / "templates" / "okta"
    for template in folder.glob("*.html"):
        assert not re.search(r"url_for\(\s*['\"]okta\.", template.read_text()), template.name


def test_flask_okta_check_checks_the_provider_it_is_asked_for(app, staff_server, okta_mock_server):
    from flask_okta_client.cli import okta_cli

    runner = app.test_cli_runner()
    staff = runner.invoke(okta_cli, ["check", "--provider", "staff"])
    assert staff.exit_code == 0, staff.output + staff.stderr
    assert "Provider: staff (settings STAFF_*; others: okta)" in staff.output
    assert "sign-in redirect URI: http://127.0.0.1:5000/staff/authorization-code/callback" in staff.output
    assert f"issuer: {staff_server.issuer}" in staff.output
    default = runner.invoke(okta_cli, ["check"])
    assert "Provider: okta (settings OKTA_*; others: staff)" in default.output
    unknown = runner.invoke(okta_cli, ["check", "--provider", "nobody"])
    assert unknown.exit_code == 1 and "no provider named 'nobody'" in unknown.stderr


def test_flask_okta_check_names_the_named_provider_s_settings_in_its_problems(okta_settings, staff_config):
    from flask_okta_client.cli import okta_cli

    app = make_two_provider_site({**okta_settings, **staff_config},
                                 STAFF_REDIRECT_URI="http://localhost/wrong/callback")
    result = app.test_cli_runner().invoke(okta_cli, ["check", "--provider", "staff"])
    assert result.exit_code == 1
    assert "STAFF_REDIRECT_URI is 'http://localhost/wrong/callback'" in result.stderr
    assert "OKTA_" not in result.stderr


def test_a_back_channel_logout_for_one_client_ends_only_that_registration_s_sign_ins(
        okta_settings, okta_mock_server, tmp_path):
    """Two clients of one issuer sharing a server-side store: the logout token for the staff
    client ends the staff sign-in of the user, not the customer one."""
    from tests.test_backchannel_logout import logout_token

    staff_client = add_staff_client(okta_mock_server)
    app = make_two_provider_site({**okta_settings, **staff_settings(okta_mock_server, staff_client),
                                  "OKTA_TOKEN_STORE": str(tmp_path), "STAFF_TOKEN_STORE": str(tmp_path),
                                  "OKTA_BACKCHANNEL_LOGOUT": True, "STAFF_BACKCHANNEL_LOGOUT": True})
    client = app.test_client()
    sign_in(client, okta_mock_server, "alice")
    staff_sign_in(client, okta_mock_server, "alice")
    signed_in = who(client)
    assert signed_in["okta"] == signed_in["staff"] is not None
    customer_token = logout_token(okta_mock_server, sub=signed_in["okta"], sid=None)
    staff_token = logout_token(okta_mock_server, sub=signed_in["staff"], sid=None, aud=staff_client.client_id)
    refused = client.post("/staff/backchannel-logout", data={"logout_token": customer_token})
    assert refused.status_code == 400
    assert client.post("/staff/backchannel-logout", data={"logout_token": staff_token}).status_code == 200
    after = who(client)
    assert after["staff"] is None and after["okta"] == signed_in["okta"]


def test_a_registration_without_a_cookie_costs_no_store_read(okta_settings, staff_config, okta_mock_server):
    from cachelib import SimpleCache

    class CountingCache(SimpleCache):
        reads = 0

        def get(self, key):
            CountingCache.reads += 1
            return super().get(key)

    app = make_two_provider_site({**okta_settings, **staff_config}, STAFF_TOKEN_STORE=CountingCache())
    client = app.test_client()
    assert who(client)["provider"] is None
    sign_in(client, okta_mock_server, "alice")
    assert who(client)["provider"] == "okta"
    assert CountingCache.reads == 0


def test_the_named_instance_refreshes_its_own_sign_in_only(okta_settings, staff_config, okta_mock_server,
                                                          staff_server):
    app = make_two_provider_site({**okta_settings, **staff_config}, OKTA_SCOPES="openid email offline_access",
                                 STAFF_SCOPES="openid email offline_access")
    client = app.test_client()
    sign_in(client, okta_mock_server, "alice")
    staff_sign_in(client, staff_server, "sam")
    first = client.post("/staff-refresh").get_json()
    second = client.post("/staff-refresh").get_json()
    assert first["provider"] == second["provider"] == "staff"
    assert second["staff"] != first["staff"]
    assert second["okta"] == first["okta"]
    assert staff_server.count("token") == 3 and okta_mock_server.count("token") == 1


def test_settings_found_wrong_on_first_use_are_named_as_the_registration_reads_them(app, staff_server):
    from flask_okta_client.protocol.dpop import DPoPKey, DPoPSigner

    staff = app.extensions["okta_providers"]["staff"]
    with app.app_context(), pytest.raises(ConfigError, match="^STAFF_PRIVATE_KEY is not set"):
        staff.grants.jwt_bearer()
    key = DPoPKey.generate("ES256").key.as_dict(private=True)
    signer = DPoPSigner(key, None, lambda: ["RS256"], staff.config.setting)
    with pytest.raises(ConfigError, match="^STAFF_DPOP_KEY signs with ES256"):
        signer.key  # noqa: B018


def test_the_registration_with_require_login_guards_the_app_and_every_provider_s_routes_stay_open(
        okta_settings, staff_config, okta_mock_server):
    app = make_two_provider_site({**okta_settings, **staff_config}, STAFF_REQUIRE_LOGIN=True)
    client = app.test_client()
    assert client.get("/").headers["Location"] == "/staff/login?next=/"
    assert client.get("/login").headers["Location"].startswith(okta_mock_server.endpoint_url("authorize"))
    sign_in(client, okta_mock_server, "alice")  # a customer sign-in does not open the staff-guarded app
    assert client.get("/").headers["Location"] == "/staff/login?next=/"
    assert client.get("/protected").status_code == 200  # a view with its own guard keeps it
