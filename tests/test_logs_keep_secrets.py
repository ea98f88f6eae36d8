"""README (Errors and templates, Reading the logs): everything the extension logs says what happened without
tokens, codes or secrets, through a whole sign-in's life and its failures, at DEBUG level."""

from __future__ import annotations

import logging

from flask_okta_client import OktaClient
from tests.lifecycle_helpers import OFFLINE_SCOPES, expire_access_token, stored_user
from tests.site import csrf_token, local, make_site, query, start_login
from tests.test_backchannel_logout import logout_token, post_logout

SECRET_KEY = "a-secret-key-that-must-never-be-logged-0123456789"
HOOK_SECRET = "an-event-hook-secret-never-logged"
REFUSED_GRANT = '{"error": "invalid_grant", "error_description": "The refresh token is invalid."}'


def telltales(secret: str) -> list[str]:
    """Pieces of ``secret`` that would give it away (of a JWT, its signature: its header is shared)."""
    unique = secret.rsplit(".", 1)[-1]
    middle = len(unique) // 2
    return [unique[:16], unique[middle - 8:middle + 8], unique[-16:]]


def logged(caplog) -> str:
    return "\n".join(record.getMessage() + (record.exc_text or "")
                     for record in caplog.records if record.name.startswith("flask_okta_client"))


def test_no_token_code_handle_or_secret_is_ever_logged(okta_settings, okta_mock_server, okta_access_token,
                                                       redis_url, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_site(okta_settings, SECRET_KEY=SECRET_KEY, OKTA_SCOPES=OFFLINE_SCOPES, OKTA_TOKEN_STORE=redis_url,
                    OKTA_BACKCHANNEL_LOGOUT=True, OKTA_EVENT_HOOK_SECRET=HOOK_SECRET)
    OktaClient().event_hook(app, "/hooks/okta")
    client = app.test_client()
    secrets = [SECRET_KEY, okta_settings["OKTA_CLIENT_SECRET"], HOOK_SECRET, "a-guessed-hook-secret"]
    for secret in (HOOK_SECRET, "a-guessed-hook-secret"):
        client.post("/hooks/okta", json={"not": "a delivery"}, headers={"Authorization": secret})

    callback = okta_mock_server.login(start_login(client), "alice")
    secrets.append(query(callback)["code"])
    client.get(local(callback))
    client.get(local(callback))  # the back button: a used code and state
    secrets.append(client.get_cookie("okta_session").value)  # the handle
    first = stored_user(app, client)
    secrets += [first.access_token, first.refresh_token, first.id_token]

    expire_access_token(app, client)
    client.get("/protected")  # refreshed
    refreshed = stored_user(app, client)
    secrets += [refreshed.access_token, refreshed.refresh_token, refreshed.id_token]
    expire_access_token(app, client)
    okta_mock_server.fail_next("token", status=400, body=REFUSED_GRANT)
    client.get("/protected")  # refused: the session ends

    bearer = okta_access_token(scopes=["messages:read"])
    tampered = bearer[:-4] + ("AAAA" if not bearer.endswith("AAAA") else "BBBB")
    expired = okta_access_token(scopes=["messages:read"], lifetime=-120)
    other_audience = okta_access_token(scopes=["messages:read"], audience="api://other")
    for token in (tampered, expired, other_audience, bearer + "!"):
        client.get("/api/messages", headers={"Authorization": f"Bearer {token}"})
    secrets += [tampered, expired, other_audience]

    garbage_logout = logout_token(okta_mock_server, sid="sid-x", nonce="n")  # refused: logout tokens have no nonce
    post_logout(app, garbage_logout)
    secrets.append(garbage_logout)

    callback = okta_mock_server.login(start_login(client), "alice")
    client.get(local(callback))
    last = stored_user(app, client)
    secrets += [last.access_token, last.refresh_token, last.id_token]
    okta_mock_server.fail_next("revoke", status=503, times=2)
    client.post("/logout", data={"csrf_token": csrf_token(client)})  # revocation fails: logged

    text = logged(caplog)
    assert "refused" in text and "revoke" in text  # the failures were logged...
    for secret in secrets:
        assert secret and not any(piece in text for piece in telltales(secret))  # ...without what must stay secret
