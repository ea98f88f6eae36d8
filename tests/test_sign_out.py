"""Sign-out: CSRF-protected form, local session cleared, tokens revoked, provider sign-out with state."""

from __future__ import annotations

from tests.site import csrf_token, local, query, sign_in


def test_logout_page_shows_a_form_with_a_csrf_token(client, okta_mock_server):
    sign_in(client, okta_mock_server)
    assert len(csrf_token(client)) >= 22


def test_logout_without_csrf_token_is_refused_and_keeps_the_session(client, okta_mock_server):
    sign_in(client, okta_mock_server)
    response = client.post("/logout")
    assert response.status_code == 400
    assert client.get("/protected").status_code == 200


def test_logout_with_a_wrong_csrf_token_is_refused(client, okta_mock_server):
    sign_in(client, okta_mock_server)
    assert client.post("/logout", data={"csrf_token": "guess"}).status_code == 400


def test_logout_clears_the_session_and_redirects_to_the_provider(client, okta_mock_server):
    sign_in(client, okta_mock_server)
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(okta_mock_server.endpoint_url("logout") + "?")
    params = query(location)
    assert params["id_token_hint"].count(".") == 2
    assert params["post_logout_redirect_uri"] == "http://localhost/logout/callback"
    assert len(params["state"]) >= 22
    assert client.get("/protected").status_code == 302


def test_logout_revokes_the_refresh_and_access_tokens(client, okta_mock_server):
    sign_in(client, okta_mock_server)
    before = okta_mock_server.count("revoke")
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert okta_mock_server.count("revoke") == before + 1  # the access token; no refresh token was issued


def test_round_trip_through_the_provider_logout_returns_home(client, okta_mock_server):
    import requests

    sign_in(client, okta_mock_server)
    location = client.post("/logout", data={"csrf_token": csrf_token(client)}).headers["Location"]
    back = requests.get(location, allow_redirects=False, timeout=5).headers["Location"]
    assert back.startswith("http://localhost/logout/callback?")
    response = client.get(local(back))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_logout_callback_with_a_foreign_state_is_refused(client, okta_mock_server):
    sign_in(client, okta_mock_server)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert client.get("/logout/callback?state=forged").status_code == 400


def test_a_forged_logout_callback_leaves_the_genuine_return_working(client, okta_mock_server):
    sign_in(client, okta_mock_server)
    location = client.post("/logout", data={"csrf_token": csrf_token(client)}).headers["Location"]
    genuine = f"/logout/callback?state={query(location)['state']}"
    for forged in ("/logout/callback?state=bogus", "/logout/callback?state=", "/logout/callback"):
        assert client.get(forged).status_code == 400
    assert client.get(genuine).headers["Location"] == "/"
    assert client.get(genuine).status_code == 400  # single use


def test_a_logout_callback_repeating_its_state_is_refused_and_spends_nothing(client, okta_mock_server):
    sign_in(client, okta_mock_server)
    location = client.post("/logout", data={"csrf_token": csrf_token(client)}).headers["Location"]
    state = query(location)["state"]
    assert client.get(f"/logout/callback?state={state}&state=bogus").status_code == 400
    assert client.get(f"/logout/callback?state={state}").headers["Location"] == "/"


def test_logout_works_while_the_provider_cannot_revoke(client, okta_mock_server):
    sign_in(client, okta_mock_server)
    okta_mock_server.fail_next("revoke", status=503, times=2)
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert client.get("/protected").status_code == 302


def test_signed_out_signal(app, client, okta_mock_server):
    from flask_okta_client import signals

    sign_in(client, okta_mock_server, "jane")
    seen = []
    with signals.user_logged_out.connected_to(lambda sender, user: seen.append(user.email), app):
        client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert seen == ["jane@example.com"]
