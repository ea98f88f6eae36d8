"""Specification of the embedded mock Okta authorization server.

Signatures are checked with python-jose, an implementation independent of
the joserfc library the mock signs with.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from jose import JWTError
from jose import jwt as jose_jwt
from joserfc.jwk import RSAKey

from flask_okta_client.testing.mock_server import (
    MockClient,
    MockLoginError,
    MockOktaServer,
)

REDIRECT_URI = "http://localhost:5000/authorization-code/callback"
POST_LOGOUT_URI = "http://localhost:5000/signed-out"
WEB_SECRET = "web-app-secret-0123456789abcdef"
POST_SECRET = "post-app-secret-0123456789abcdef"
OTHER_SECRET = "other-app-secret-0123456789abcdef"
JWT_SECRET = "jwt-app-secret-0123456789abcdef0123456789"
SERVICE_SECRET = "service-secret-0123456789abcdef"
ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PENDING_FIELD = re.compile(r'name="pending" value="([^"]+)"')

SIGNER_KEY = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)
SIGNER_JWKS = {"keys": [SIGNER_KEY.as_dict(private=False)]}
WEB_APP = ("web-app", WEB_SECRET)


@pytest.fixture(scope="module")
def okta() -> Iterator[MockOktaServer]:
    with MockOktaServer() as server:
        server.add_client(
            MockClient("web-app", WEB_SECRET, [REDIRECT_URI], post_logout_redirect_uris=[POST_LOGOUT_URI])
        )
        server.add_client(MockClient("other-app", OTHER_SECRET, [REDIRECT_URI]))
        server.add_client(MockClient("spa", None, [REDIRECT_URI]))
        server.add_client(
            MockClient("post-app", POST_SECRET, [REDIRECT_URI], token_endpoint_auth_method="client_secret_post")
        )
        server.add_client(
            MockClient("hmac-app", JWT_SECRET, [REDIRECT_URI], token_endpoint_auth_method="client_secret_jwt")
        )
        server.add_client(MockClient("signer", redirect_uris=[REDIRECT_URI], jwks=SIGNER_JWKS))
        server.add_client(MockClient("service", SERVICE_SECRET, scopes=("api:read", "api:write")))
        yield server


@pytest.fixture(autouse=True)
def _clean_traffic(okta: MockOktaServer) -> Iterator[None]:
    yield
    okta.reset()


@pytest.fixture
def fresh_okta() -> Iterator[MockOktaServer]:
    """A server of its own, for tests that change its keys."""
    with MockOktaServer() as server:
        server.add_client(MockClient("web-app", WEB_SECRET, [REDIRECT_URI]))
        yield server


# helpers


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(okta: MockOktaServer, **overrides: str | None) -> tuple[str, str]:
    """An authorize URL for web-app with PKCE; ``None`` drops a parameter."""
    verifier, challenge = pkce_pair()
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": "web-app",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email offline_access",
        "state": "state-123",
        "nonce": "nonce-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    query = urlencode({key: value for key, value in params.items() if value is not None})
    return f"{okta.endpoint_url('authorize')}?{query}", verifier


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(url).query).items()}


def token_request(okta: MockOktaServer, auth: tuple[str, str] | None = WEB_APP, **data: str) -> requests.Response:
    return requests.post(okta.endpoint_url("token"), data=data, auth=auth, timeout=5)


def exchange_code(okta: MockOktaServer, code: str, verifier: str, **extra: Any) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "code_verifier": verifier}
    return token_request(okta, **{**data, **extra})


def sign_in(okta: MockOktaServer, username: str = "alice", **overrides: str | None) -> dict[str, Any]:
    """The token response of a full code flow for web-app."""
    url, verifier = authorize_url(okta, **overrides)
    code = query_of(okta.login(url, username))["code"]
    response = exchange_code(okta, code, verifier)
    assert response.status_code == 200, response.text
    return response.json()


def browser_login(browser: requests.Session, url: str, username: str) -> str:
    """Sign in with a persistent browser session, as a real user agent would."""
    page = browser.get(url, allow_redirects=False)
    pending = PENDING_FIELD.search(page.text).group(1)
    answer = browser.post(url.split("?")[0], data={"pending": pending, "username": username}, allow_redirects=False)
    return answer.headers["Location"]


def verify(okta: MockOktaServer, token: str, audience: str, **options: Any) -> dict[str, Any]:
    jwks = okta.public_jwks()
    return jose_jwt.decode(token, jwks, algorithms=["RS256"], audience=audience, issuer=okta.issuer, **options)


def introspect(okta: MockOktaServer, token: str) -> dict[str, Any]:
    return requests.post(okta.endpoint_url("introspect"), data={"token": token}, auth=WEB_APP).json()


def revoke(okta: MockOktaServer, token: str, **extra: str) -> requests.Response:
    return requests.post(okta.endpoint_url("revoke"), data={"token": token, **extra}, auth=WEB_APP)


def client_assertion(client_id: str, audience: str, key: Any = SIGNER_KEY, jti: str | None = None) -> str:
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "exp": int(time.time()) + 60,
        "jti": jti or secrets.token_urlsafe(16),
    }
    if isinstance(key, str):
        return jose_jwt.encode(claims, key, algorithm="HS256")
    return jose_jwt.encode(claims, key.as_pem(private=True).decode(), algorithm="RS256", headers={"kid": key.kid})


# lifecycle


def test_server_listens_on_loopback_with_os_chosen_port(okta: MockOktaServer) -> None:
    assert okta.port > 0
    assert okta.base_url == f"http://127.0.0.1:{okta.port}"
    assert okta.issuer == f"http://127.0.0.1:{okta.port}/oauth2/default"


def test_custom_authorization_server_id_changes_issuer() -> None:
    with MockOktaServer(auth_server_id="aus123") as server:
        assert server.issuer.endswith("/oauth2/aus123")
        assert requests.get(server.endpoint_url("discovery")).json()["issuer"] == server.issuer


def test_issuer_is_unavailable_before_start() -> None:
    with pytest.raises(RuntimeError):
        _ = MockOktaServer().issuer


def test_stop_releases_the_port() -> None:
    server = MockOktaServer().start()
    url = server.endpoint_url("keys")
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=1)


def test_command_line_prints_issuer_and_serves() -> None:
    module = "flask_okta_client.testing.mock_server"
    command = [sys.executable, "-m", module, "--client-id", "demo", "--redirect-uri", REDIRECT_URI]
    process = subprocess.Popen(command, cwd=Path(__file__).parents[1], stdout=subprocess.PIPE, text=True)
    try:
        issuer = re.search(r"(http://127\.0\.0\.1:\d+/oauth2/default)", process.stdout.readline()).group(1)
        assert requests.get(issuer + "/.well-known/openid-configuration").json()["issuer"] == issuer
    finally:
        process.terminate()
        process.wait(timeout=5)


# discovery and keys


def test_discovery_document_lists_every_endpoint_under_the_issuer(okta: MockOktaServer) -> None:
    document = requests.get(f"{okta.issuer}/.well-known/openid-configuration").json()
    assert document["issuer"] == okta.issuer
    assert document["authorization_endpoint"] == f"{okta.issuer}/v1/authorize"
    assert document["token_endpoint"] == f"{okta.issuer}/v1/token"
    assert document["jwks_uri"] == f"{okta.issuer}/v1/keys"
    assert document["userinfo_endpoint"] == f"{okta.issuer}/v1/userinfo"
    assert document["revocation_endpoint"] == f"{okta.issuer}/v1/revoke"
    assert document["introspection_endpoint"] == f"{okta.issuer}/v1/introspect"
    assert document["end_session_endpoint"] == f"{okta.issuer}/v1/logout"
    assert document["pushed_authorization_request_endpoint"] == f"{okta.issuer}/v1/par"


def test_discovery_document_advertises_supported_features(okta: MockOktaServer) -> None:
    document = requests.get(okta.endpoint_url("discovery")).json()
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(document["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none",
    }  # fmt: skip
    assert {"authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE, JWT_BEARER} <= set(
        document["grant_types_supported"]
    )
    assert {"openid", "profile", "email", "offline_access"} <= set(document["scopes_supported"])


def test_oauth_authorization_server_metadata_matches_openid_configuration(okta: MockOktaServer) -> None:
    oauth = requests.get(f"{okta.issuer}/.well-known/oauth-authorization-server").json()
    assert oauth == requests.get(okta.endpoint_url("discovery")).json()


def test_keys_endpoint_publishes_public_rsa_keys_only(okta: MockOktaServer) -> None:
    jwks = requests.get(okta.endpoint_url("keys")).json()
    assert jwks == okta.public_jwks()
    [key] = jwks["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert key["kid"]
    assert "d" not in key


# sign-in page


def test_sign_in_page_has_username_field_and_sign_in_button(okta: MockOktaServer) -> None:
    page = requests.get(authorize_url(okta)[0])
    assert page.status_code == 200
    assert re.search(r'<input id="username" name="username"', page.text)
    assert re.search(r'<button type="submit">Sign in</button>', page.text)


def test_login_hint_prefills_the_username(okta: MockOktaServer) -> None:
    page = requests.get(authorize_url(okta, login_hint="carol@example.org")[0])
    assert 'value="carol@example.org"' in page.text


def test_login_returns_callback_with_code_state_and_issuer(okta: MockOktaServer) -> None:
    location = okta.login(authorize_url(okta)[0], "alice")
    assert location.startswith(REDIRECT_URI + "?")
    params = query_of(location)
    assert params["code"]
    assert params["state"] == "state-123"
    assert params["iss"] == okta.issuer


def test_login_refuses_urls_of_other_servers(okta: MockOktaServer) -> None:
    with pytest.raises(ValueError):
        okta.login("https://example.okta.com/oauth2/default/v1/authorize?client_id=web-app", "alice")


def test_unknown_client_gets_an_error_page_not_a_redirect(okta: MockOktaServer) -> None:
    response = requests.get(authorize_url(okta, client_id="nobody")[0], allow_redirects=False)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "invalid_client" in response.text


def test_redirect_uri_mismatch_gets_an_error_page_not_a_redirect(okta: MockOktaServer) -> None:
    url = authorize_url(okta, redirect_uri="http://localhost:5000/evil")[0]
    response = requests.get(url, allow_redirects=False)
    assert response.status_code == 400
    assert "Location" not in response.headers
    with pytest.raises(MockLoginError):
        okta.login(url, "alice")


def test_missing_code_challenge_redirects_back_with_invalid_request(okta: MockOktaServer) -> None:
    location = okta.login(authorize_url(okta, code_challenge=None, code_challenge_method=None)[0], "alice")
    params = query_of(location)
    assert params["error"] == "invalid_request"
    assert "PKCE" in params["error_description"]
    assert (params["state"], params["iss"]) == ("state-123", okta.issuer)


def test_plain_code_challenge_method_is_refused(okta: MockOktaServer) -> None:
    location = okta.login(authorize_url(okta, code_challenge="x" * 43, code_challenge_method="plain")[0], "alice")
    assert query_of(location)["error"] == "invalid_request"


def test_scope_not_allowed_for_the_client_redirects_invalid_scope(okta: MockOktaServer) -> None:
    location = okta.login(authorize_url(okta, scope="openid api:admin")[0], "alice")
    assert query_of(location)["error"] == "invalid_scope"


def test_prompt_none_without_a_session_redirects_login_required(okta: MockOktaServer) -> None:
    location = okta.login(authorize_url(okta, prompt="none")[0], "alice")
    params = query_of(location)
    assert params["error"] == "login_required"
    assert (params["state"], params["iss"]) == ("state-123", okta.issuer)


def test_existing_session_signs_in_silently_with_prompt_none(okta: MockOktaServer) -> None:
    with requests.Session() as browser:
        browser_login(browser, authorize_url(okta)[0], "alice")
        silent = browser.get(authorize_url(okta, prompt="none")[0], allow_redirects=False)
    assert "code" in query_of(silent.headers["Location"])


def test_max_age_exceeded_shows_the_sign_in_page_again(okta: MockOktaServer) -> None:
    with requests.Session() as browser:
        browser_login(browser, authorize_url(okta)[0], "alice")
        page = browser.get(authorize_url(okta, max_age="0")[0], allow_redirects=False)
    assert page.status_code == 200
    assert "Sign in" in page.text


@pytest.mark.parametrize("max_age", ["\u00b2", "\u0663", "9" * 5000, "-1"])
def test_a_malformed_max_age_is_an_invalid_request_not_a_crash(okta: MockOktaServer, max_age: str) -> None:
    with requests.Session() as browser:
        browser_login(browser, authorize_url(okta)[0], "alice")
        answer = browser.get(authorize_url(okta, max_age=max_age)[0], allow_redirects=False)
    assert answer.status_code in (302, 400)
    if answer.status_code == 302:
        assert query_of(answer.headers["Location"])["error"] == "invalid_request"


def test_id_and_access_tokens_carry_the_sign_in_level_time_and_methods(okta: MockOktaServer) -> None:
    before = int(time.time())
    tokens = sign_in(okta)
    id_claims = verify(okta, tokens["id_token"], "web-app", options={"verify_at_hash": False})
    access_claims = verify(okta, tokens["access_token"], "api://default")
    assert (id_claims["acr"], id_claims["amr"]) == ("urn:okta:loa:1fa:pwd", ["pwd"])
    assert id_claims["auth_time"] >= before
    assert (access_claims["acr"], access_claims["auth_time"]) == (id_claims["acr"], id_claims["auth_time"])


def test_a_sign_in_asked_for_two_factors_gets_them(okta: MockOktaServer) -> None:
    tokens = sign_in(okta, acr_values="urn:okta:loa:2fa:any")
    claims = verify(okta, tokens["id_token"], "web-app", options={"verify_at_hash": False})
    assert claims["acr"] == "urn:okta:loa:2fa:any"
    assert "mfa" in claims["amr"]


def test_the_user_can_answer_with_a_weaker_level_than_asked(okta: MockOktaServer) -> None:
    url, verifier = authorize_url(okta, acr_values="urn:okta:loa:2fa:any")
    code = query_of(okta.login(url, "alice", acr="urn:okta:loa:1fa:pwd"))["code"]
    tokens = exchange_code(okta, code, verifier).json()
    assert verify(okta, tokens["id_token"], "web-app", options={"verify_at_hash": False})["acr"] == \
        "urn:okta:loa:1fa:pwd"


def test_a_stronger_level_than_the_session_has_asks_again(okta: MockOktaServer) -> None:
    with requests.Session() as browser:
        browser_login(browser, authorize_url(okta)[0], "alice")
        page = browser.get(authorize_url(okta, acr_values="urn:okta:loa:2fa:any")[0], allow_redirects=False)
        silent = browser.get(authorize_url(okta, acr_values="urn:okta:loa:2fa:any", prompt="none")[0],
                             allow_redirects=False)
    assert page.status_code == 200 and 'name="acr"' in page.text
    assert query_of(silent.headers["Location"])["error"] == "login_required"


def test_prompt_none_without_a_session_answers_login_required(okta: MockOktaServer) -> None:
    response = requests.get(authorize_url(okta, prompt="none")[0], allow_redirects=False)
    params = query_of(response.headers["Location"])
    assert (params["error"], params["state"], params["iss"]) == ("login_required", "state-123", okta.issuer)


def test_refreshed_tokens_keep_the_sign_in_level_and_time(okta: MockOktaServer) -> None:
    tokens = sign_in(okta, acr_values="urn:okta:loa:2fa:any")
    first = verify(okta, tokens["id_token"], "web-app", options={"verify_at_hash": False})
    refreshed = token_request(okta, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()
    id_claims = verify(okta, refreshed["id_token"], "web-app", options={"verify_at_hash": False})
    access_claims = verify(okta, refreshed["access_token"], "api://default")
    for claims in (id_claims, access_claims):
        assert (claims["acr"], claims["auth_time"]) == ("urn:okta:loa:2fa:any", first["auth_time"])
    assert id_claims["amr"] == first["amr"]


# authorization code exchange


def test_code_exchange_returns_tokens_verifiable_with_the_public_jwks(okta: MockOktaServer) -> None:
    tokens = sign_in(okta)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == "openid profile email offline_access"
    verify(okta, tokens["id_token"], "web-app", access_token=tokens["access_token"])
    verify(okta, tokens["access_token"], "api://default")


def test_id_token_has_okta_claims_and_echoes_the_nonce(okta: MockOktaServer) -> None:
    before = int(time.time())
    claims = verify(okta, sign_in(okta, "alice.smith")["id_token"], "web-app", options={"verify_at_hash": False})
    assert claims["nonce"] == "nonce-456"
    assert re.fullmatch(r"00u[0-9a-f]{17}", claims["sub"])
    assert claims["preferred_username"] == "alice.smith"
    assert claims["email"] == "alice.smith@example.com"
    assert claims["name"] == "Alice Smith"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["auth_time"] >= before
    assert (claims["amr"], claims["ver"]) == (["pwd"], 1)
    assert claims["idp"].startswith("00o")
    assert "groups" not in claims


def test_sub_is_stable_for_a_username(okta: MockOktaServer) -> None:
    first = jose_jwt.get_unverified_claims(sign_in(okta, "dave")["id_token"])
    second = jose_jwt.get_unverified_claims(sign_in(okta, "dave")["id_token"])
    assert first["sub"] == second["sub"]


def test_username_with_at_sign_is_the_email(okta: MockOktaServer) -> None:
    claims = jose_jwt.get_unverified_claims(sign_in(okta, "erin@corp.example")["id_token"])
    assert claims["email"] == "erin@corp.example"


def test_set_user_adds_groups_and_extra_claims(okta: MockOktaServer) -> None:
    okta.set_user("frank", groups=["Admins", "Everyone"], department="Sales")
    claims = jose_jwt.get_unverified_claims(sign_in(okta, "frank")["id_token"])
    assert claims["groups"] == ["Admins", "Everyone"]
    assert claims["department"] == "Sales"


def test_access_token_is_shaped_like_okta(okta: MockOktaServer) -> None:
    tokens = sign_in(okta, "alice")
    claims = verify(okta, tokens["access_token"], "api://default")
    id_claims = jose_jwt.get_unverified_claims(tokens["id_token"])
    assert claims["sub"] == "alice"
    assert claims["cid"] == "web-app"
    assert claims["uid"] == id_claims["sub"]
    assert claims["scp"] == ["openid", "profile", "email", "offline_access"]
    assert claims["ver"] == 1
    assert claims["jti"]
    assert claims["exp"] - claims["iat"] == 3600


def test_access_token_audience_is_configurable() -> None:
    with MockOktaServer(audience="api://orders") as server:
        server.add_client(MockClient("service", SERVICE_SECRET, scopes=("api:read",)))
        token = token_request(server, ("service", SERVICE_SECRET), grant_type="client_credentials", scope="api:read")
        verify(server, token.json()["access_token"], "api://orders")


def test_token_endpoint_rejects_wrong_code_verifier(okta: MockOktaServer) -> None:
    url, _ = authorize_url(okta)
    code = query_of(okta.login(url, "alice"))["code"]
    response = exchange_code(okta, code, pkce_pair()[0])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_token_endpoint_rejects_missing_code_verifier(okta: MockOktaServer) -> None:
    url, _ = authorize_url(okta)
    code = query_of(okta.login(url, "alice"))["code"]
    response = token_request(okta, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_token_endpoint_rejects_a_reused_code(okta: MockOktaServer) -> None:
    url, verifier = authorize_url(okta)
    code = query_of(okta.login(url, "alice"))["code"]
    assert exchange_code(okta, code, verifier).status_code == 200
    again = exchange_code(okta, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_reusing_a_code_revokes_the_tokens_it_produced(okta: MockOktaServer) -> None:
    url, verifier = authorize_url(okta)
    code = query_of(okta.login(url, "alice"))["code"]
    tokens = exchange_code(okta, code, verifier).json()
    exchange_code(okta, code, verifier)
    assert introspect(okta, tokens["access_token"]) == {"active": False}
    assert introspect(okta, tokens["refresh_token"]) == {"active": False}


def test_token_endpoint_rejects_a_different_redirect_uri(okta: MockOktaServer) -> None:
    url, verifier = authorize_url(okta)
    code = query_of(okta.login(url, "alice"))["code"]
    response = exchange_code(okta, code, verifier, redirect_uri="http://localhost:5000/other")
    assert response.json()["error"] == "invalid_grant"


def test_token_endpoint_rejects_a_wrong_client_secret(okta: MockOktaServer) -> None:
    url, verifier = authorize_url(okta)
    code = query_of(okta.login(url, "alice"))["code"]
    response = exchange_code(okta, code, verifier, auth=("web-app", "wrong-secret"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_public_client_exchanges_a_code_without_a_secret(okta: MockOktaServer) -> None:
    url, verifier = authorize_url(okta, client_id="spa")
    code = query_of(okta.login(url, "alice"))["code"]
    response = exchange_code(okta, code, verifier, auth=None, client_id="spa")
    assert response.status_code == 200
    assert jose_jwt.get_unverified_claims(response.json()["id_token"])["aud"] == "spa"


def test_client_secret_post_authenticates_with_form_credentials(okta: MockOktaServer) -> None:
    url, verifier = authorize_url(okta, client_id="post-app")
    code = query_of(okta.login(url, "alice"))["code"]
    response = exchange_code(okta, code, verifier, auth=None, client_id="post-app", client_secret=POST_SECRET)
    assert response.status_code == 200


def test_no_refresh_token_without_offline_access(okta: MockOktaServer) -> None:
    assert "refresh_token" not in sign_in(okta, scope="openid profile")


def test_no_id_token_without_openid_scope(okta: MockOktaServer) -> None:
    assert "id_token" not in sign_in(okta, scope="profile", nonce=None)


# refresh tokens


def refresh(okta: MockOktaServer, refresh_token: str) -> requests.Response:
    return token_request(okta, grant_type="refresh_token", refresh_token=refresh_token)


def test_refresh_rotates_the_refresh_token(okta: MockOktaServer) -> None:
    tokens = sign_in(okta)
    refreshed = refresh(okta, tokens["refresh_token"]).json()
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    verify(okta, refreshed["access_token"], "api://default")


def test_refresh_returns_an_id_token_keeping_auth_time(okta: MockOktaServer) -> None:
    tokens = sign_in(okta)
    refreshed = refresh(okta, tokens["refresh_token"]).json()
    original = jose_jwt.get_unverified_claims(tokens["id_token"])
    renewed = verify(okta, refreshed["id_token"], "web-app", access_token=refreshed["access_token"])
    assert renewed["auth_time"] == original["auth_time"]
    assert renewed["sub"] == original["sub"]


def test_replayed_refresh_token_is_refused_and_revokes_its_family(okta: MockOktaServer) -> None:
    tokens = sign_in(okta)
    rotated = refresh(okta, tokens["refresh_token"]).json()
    replay = refresh(okta, tokens["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert refresh(okta, rotated["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(okta, rotated["access_token"]) == {"active": False}


def test_refresh_token_of_another_client_is_refused(okta: MockOktaServer) -> None:
    tokens = sign_in(okta)
    other_app = ("other-app", OTHER_SECRET)
    response = token_request(okta, other_app, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


# client credentials


def test_client_credentials_issues_a_token_for_the_client_itself(okta: MockOktaServer) -> None:
    response = token_request(okta, ("service", SERVICE_SECRET), grant_type="client_credentials", scope="api:read")
    body = response.json()
    claims = verify(okta, body["access_token"], "api://default")
    assert (claims["sub"], claims["cid"], claims["scp"]) == ("service", "service", ["api:read"])
    assert "uid" not in claims
    assert "refresh_token" not in body


def test_client_credentials_refuses_a_scope_the_client_lacks(okta: MockOktaServer) -> None:
    response = token_request(okta, ("service", SERVICE_SECRET), grant_type="client_credentials", scope="api:admin")
    assert response.json()["error"] == "invalid_scope"


def test_public_client_cannot_use_client_credentials(okta: MockOktaServer) -> None:
    response = token_request(okta, None, grant_type="client_credentials", client_id="spa")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


# token exchange and ID-JAG


def exchange(
    okta: MockOktaServer, subject_token: str, subject_type: str = ACCESS_TOKEN_TYPE, **extra: str
) -> requests.Response:
    data = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject_token, "subject_token_type": subject_type}
    return token_request(okta, **{**data, **extra})


def exchange_for_id_jag(okta: MockOktaServer, id_token: str, audience: str, **extra: str) -> requests.Response:
    return exchange(okta, id_token, ID_TOKEN_TYPE, requested_token_type=ID_JAG, audience=audience, **extra)


def id_jag_for_this_server(okta: MockOktaServer, **extra: str) -> tuple[str, str]:
    """An ID token of alice, and an ID-JAG made from it for this very server."""
    id_token = sign_in(okta)["id_token"]
    return id_token, exchange_for_id_jag(okta, id_token, okta.issuer, **extra).json()["access_token"]


def test_token_exchange_returns_an_access_token_for_the_audience(okta: MockOktaServer) -> None:
    tokens = sign_in(okta)
    response = exchange(okta, tokens["access_token"], audience="api://orders", scope="openid")
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    claims = verify(okta, body["access_token"], "api://orders")
    assert claims["sub"] == "alice"
    assert claims["scp"] == ["openid"]


def test_token_exchange_refuses_a_token_not_signed_by_the_server(okta: MockOktaServer) -> None:
    claims = {"iss": okta.issuer, "uid": "00u1", "exp": int(time.time()) + 60}
    forged = jose_jwt.encode(claims, "k" * 32, algorithm="HS256")
    response = exchange(okta, forged)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_token_exchange_refuses_a_revoked_subject_token(okta: MockOktaServer) -> None:
    access_token = sign_in(okta)["access_token"]
    revoke(okta, access_token)
    assert exchange(okta, access_token).json()["error"] == "invalid_grant"


def test_token_exchange_issues_an_id_jag(okta: MockOktaServer) -> None:
    id_token = sign_in(okta)["id_token"]
    response = exchange_for_id_jag(okta, id_token, "https://as.example", scope="openid")
    body = response.json()
    assert body["issued_token_type"] == ID_JAG
    assert body["token_type"] == "N_A"
    assert jose_jwt.get_unverified_header(body["access_token"])["typ"] == "oauth-id-jag+jwt"
    claims = verify(okta, body["access_token"], "https://as.example")
    assert claims["client_id"] == "web-app"
    assert claims["sub"] == jose_jwt.get_unverified_claims(id_token)["sub"]
    assert claims["scope"] == "openid"


def test_id_jag_requires_an_audience(okta: MockOktaServer) -> None:
    response = exchange(okta, sign_in(okta)["id_token"], ID_TOKEN_TYPE, requested_token_type=ID_JAG)
    assert response.json()["error"] == "invalid_request"


# JWT bearer


def test_jwt_bearer_accepts_an_id_jag_issued_by_the_server(okta: MockOktaServer) -> None:
    id_token, jag = id_jag_for_this_server(okta, scope="openid")
    response = token_request(okta, grant_type=JWT_BEARER, assertion=jag)
    claims = verify(okta, response.json()["access_token"], "api://default")
    assert claims["uid"] == jose_jwt.get_unverified_claims(id_token)["sub"]
    assert claims["scp"] == ["openid"]


def test_jwt_bearer_refuses_a_replayed_assertion(okta: MockOktaServer) -> None:
    _, jag = id_jag_for_this_server(okta)
    assert token_request(okta, grant_type=JWT_BEARER, assertion=jag).status_code == 200
    replay = token_request(okta, grant_type=JWT_BEARER, assertion=jag)
    assert replay.json()["error"] == "invalid_grant"


def test_jwt_bearer_refuses_an_id_jag_issued_to_another_client(okta: MockOktaServer) -> None:
    _, jag = id_jag_for_this_server(okta)
    response = token_request(okta, ("other-app", OTHER_SECRET), grant_type=JWT_BEARER, assertion=jag)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_jwt_bearer_needs_client_authentication_for_a_server_signed_assertion(okta: MockOktaServer) -> None:
    _, jag = id_jag_for_this_server(okta)
    response = token_request(okta, None, grant_type=JWT_BEARER, assertion=jag)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_jwt_bearer_accepts_an_assertion_signed_with_client_keys(okta: MockOktaServer) -> None:
    claims = {"iss": "signer", "sub": "grace", "aud": okta.endpoint_url("token"), "exp": int(time.time()) + 60}
    assertion = jose_jwt.encode(claims, SIGNER_KEY.as_pem(private=True).decode(), algorithm="RS256")
    response = token_request(okta, None, grant_type=JWT_BEARER, assertion=assertion, scope="openid")
    access = verify(okta, response.json()["access_token"], "api://default")
    assert (access["sub"], access["cid"]) == ("grace", "signer")


def test_jwt_bearer_refuses_an_assertion_for_another_audience(okta: MockOktaServer) -> None:
    claims = {"iss": "signer", "sub": "grace", "aud": "https://elsewhere.example", "exp": int(time.time()) + 60}
    assertion = jose_jwt.encode(claims, SIGNER_KEY.as_pem(private=True).decode(), algorithm="RS256")
    assert token_request(okta, None, grant_type=JWT_BEARER, assertion=assertion).json()["error"] == "invalid_grant"


# JWT client authentication


def assertion_auth(assertion: str) -> dict[str, str]:
    return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion}


def client_credentials_with(okta: MockOktaServer, assertion: str) -> requests.Response:
    return token_request(okta, None, grant_type="client_credentials", scope="openid", **assertion_auth(assertion))


def test_private_key_jwt_authenticates_the_client(okta: MockOktaServer) -> None:
    url, verifier = authorize_url(okta, client_id="signer")
    code = query_of(okta.login(url, "alice"))["code"]
    assertion = client_assertion("signer", okta.endpoint_url("token"))
    response = exchange_code(okta, code, verifier, auth=None, **assertion_auth(assertion))
    assert response.status_code == 200, response.text


def test_private_key_jwt_accepts_the_issuer_as_audience(okta: MockOktaServer) -> None:
    assertion = client_assertion("signer", okta.issuer)
    response = client_credentials_with(okta, assertion)
    assert response.status_code == 200, response.text


def test_private_key_jwt_refuses_a_replayed_jti(okta: MockOktaServer) -> None:
    first = client_credentials_with(okta, client_assertion("signer", okta.endpoint_url("token"), jti="once"))
    assert first.status_code == 200
    replay = client_credentials_with(okta, client_assertion("signer", okta.endpoint_url("token"), jti="once"))
    assert replay.json()["error"] == "invalid_client"


def test_private_key_jwt_refuses_an_assertion_signed_with_another_key(okta: MockOktaServer) -> None:
    stranger = RSAKey.generate_key(2048, auto_kid=True)
    assertion = client_assertion("signer", okta.endpoint_url("token"), key=stranger)
    response = client_credentials_with(okta, assertion)
    assert response.json()["error"] == "invalid_client"


def test_client_secret_jwt_authenticates_the_client(okta: MockOktaServer) -> None:
    assertion = client_assertion("hmac-app", okta.endpoint_url("token"), key=JWT_SECRET)
    response = client_credentials_with(okta, assertion)
    assert response.status_code == 200, response.text


# pushed authorization requests


def push(okta: MockOktaServer, auth: tuple[str, str] | None = WEB_APP) -> tuple[requests.Response, str]:
    url, verifier = authorize_url(okta)
    return requests.post(okta.endpoint_url("par"), data=query_of(url), auth=auth), verifier


def pushed_authorize_url(okta: MockOktaServer, request_uri: str) -> str:
    return okta.endpoint_url("authorize") + "?" + urlencode({"client_id": "web-app", "request_uri": request_uri})


def test_par_returns_a_request_uri(okta: MockOktaServer) -> None:
    response, _ = push(okta)
    assert response.status_code == 201
    assert response.json()["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")
    assert response.json()["expires_in"] > 0


def test_par_request_uri_drives_the_code_flow(okta: MockOktaServer) -> None:
    response, verifier = push(okta)
    url = pushed_authorize_url(okta, response.json()["request_uri"])
    params = query_of(okta.login(url, "alice"))
    assert params["state"] == "state-123"
    assert exchange_code(okta, params["code"], verifier).status_code == 200


def test_par_request_uri_is_single_use(okta: MockOktaServer) -> None:
    response, _ = push(okta)
    url = pushed_authorize_url(okta, response.json()["request_uri"])
    okta.login(url, "alice")
    assert requests.get(url, allow_redirects=False).status_code == 400


def test_par_requires_client_authentication(okta: MockOktaServer) -> None:
    response, _ = push(okta, auth=("web-app", "wrong-secret"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_par_validates_the_request_like_authorize(okta: MockOktaServer) -> None:
    url, _ = authorize_url(okta, code_challenge=None, code_challenge_method=None)
    response = requests.post(okta.endpoint_url("par"), data=query_of(url), auth=WEB_APP)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# userinfo, revocation and introspection


def test_userinfo_returns_the_profile_for_an_access_token(okta: MockOktaServer) -> None:
    okta.set_user("heidi", groups=["Everyone"])
    tokens = sign_in(okta, "heidi")
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    response = requests.get(okta.endpoint_url("userinfo"), headers=bearer)
    body = response.json()
    assert body["sub"] == jose_jwt.get_unverified_claims(tokens["id_token"])["sub"]
    assert (body["preferred_username"], body["email"], body["name"]) == ("heidi", "heidi@example.com", "Heidi")
    assert body["groups"] == ["Everyone"]


def test_userinfo_refuses_a_request_without_a_token(okta: MockOktaServer) -> None:
    assert requests.get(okta.endpoint_url("userinfo")).status_code == 401


def test_introspection_describes_an_active_access_token(okta: MockOktaServer) -> None:
    access_token = sign_in(okta)["access_token"]
    body = introspect(okta, access_token)
    claims = jose_jwt.get_unverified_claims(access_token)
    assert body["active"] is True
    assert body["token_type"] == "Bearer"
    assert (body["client_id"], body["username"], body["sub"]) == ("web-app", "alice", "alice")
    assert body["scope"] == "openid profile email offline_access"
    assert (body["iss"], body["aud"]) == (okta.issuer, "api://default")
    assert (body["exp"], body["iat"]) == (claims["exp"], claims["iat"])


def test_introspection_describes_an_active_refresh_token(okta: MockOktaServer) -> None:
    body = introspect(okta, sign_in(okta)["refresh_token"])
    assert body["active"] is True
    assert body["token_type"] == "refresh_token"
    assert body["client_id"] == "web-app"


def test_introspection_of_an_unknown_token_is_inactive(okta: MockOktaServer) -> None:
    assert introspect(okta, "not-a-token") == {"active": False}


def test_revoked_access_token_becomes_inactive(okta: MockOktaServer) -> None:
    access_token = sign_in(okta)["access_token"]
    response = revoke(okta, access_token)
    assert response.status_code == 200
    assert introspect(okta, access_token) == {"active": False}


def test_revoking_a_refresh_token_stops_refresh(okta: MockOktaServer) -> None:
    tokens = sign_in(okta)
    revoke(okta, tokens["refresh_token"], token_type_hint="refresh_token")
    assert refresh(okta, tokens["refresh_token"]).json()["error"] == "invalid_grant"


# logout


def logout_url(okta: MockOktaServer, id_token: str, post_logout_redirect_uri: str = POST_LOGOUT_URI) -> str:
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": post_logout_redirect_uri, "state": "bye"})
    return f"{okta.endpoint_url('logout')}?{query}"


def test_logout_redirects_to_the_registered_uri_with_state(okta: MockOktaServer) -> None:
    response = requests.get(logout_url(okta, sign_in(okta)["id_token"]), allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{POST_LOGOUT_URI}?state=bye"


def test_logout_does_not_redirect_to_an_unregistered_uri(okta: MockOktaServer) -> None:
    url = logout_url(okta, sign_in(okta)["id_token"], "http://localhost:5000/evil")
    response = requests.get(url, allow_redirects=False)
    assert response.status_code == 200
    assert "Signed out" in response.text


def test_logout_ends_the_mock_sign_in_session(okta: MockOktaServer) -> None:
    with requests.Session() as browser:
        url, verifier = authorize_url(okta)
        code = query_of(browser_login(browser, url, "alice"))["code"]
        id_token = exchange_code(okta, code, verifier).json()["id_token"]
        browser.get(logout_url(okta, id_token), allow_redirects=False)
        silent = browser.get(authorize_url(okta, prompt="none")[0], allow_redirects=False)
    assert query_of(silent.headers["Location"])["error"] == "login_required"


# keys


def test_sign_mints_a_jwt_verifiable_with_the_public_jwks(okta: MockOktaServer) -> None:
    token = okta.sign({"iss": okta.issuer, "aud": "custom", "sub": "x"}, headers={"typ": "at+jwt"})
    assert verify(okta, token, "custom")["sub"] == "x"
    assert jose_jwt.get_unverified_header(token)["typ"] == "at+jwt"


def test_rotate_keys_signs_with_a_new_kid_and_keeps_the_old_key_published(fresh_okta: MockOktaServer) -> None:
    old_token = fresh_okta.sign({"sub": "x"})
    new_kid = fresh_okta.rotate_keys()
    new_token = fresh_okta.sign({"sub": "x"})
    assert jose_jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert jose_jwt.get_unverified_header(old_token)["kid"] != new_kid
    jwks = requests.get(fresh_okta.endpoint_url("keys")).json()
    assert len(jwks["keys"]) == 2
    jose_jwt.decode(old_token, jwks, algorithms=["RS256"])
    jose_jwt.decode(new_token, jwks, algorithms=["RS256"])


def test_rotate_keys_without_keep_old_unpublishes_the_old_key(fresh_okta: MockOktaServer) -> None:
    old_token = fresh_okta.sign({"sub": "x"})
    new_kid = fresh_okta.rotate_keys(keep_old=False)
    jwks = requests.get(fresh_okta.endpoint_url("keys")).json()
    assert [key["kid"] for key in jwks["keys"]] == [new_kid]
    with pytest.raises(JWTError):
        jose_jwt.decode(old_token, jwks, algorithms=["RS256"])


def test_tokens_after_rotation_use_the_new_key(fresh_okta: MockOktaServer) -> None:
    new_kid = fresh_okta.rotate_keys(keep_old=False)
    tokens = sign_in(fresh_okta, scope="openid")
    assert jose_jwt.get_unverified_header(tokens["id_token"])["kid"] == new_kid
    assert jose_jwt.get_unverified_header(tokens["access_token"])["kid"] == new_kid


# fault injection and counting


def test_fail_next_answers_once_with_the_injected_status(okta: MockOktaServer) -> None:
    okta.fail_next("keys")
    failed = requests.get(okta.endpoint_url("keys"))
    assert failed.status_code == 503
    assert failed.json()["error"] == "temporarily_unavailable"
    assert requests.get(okta.endpoint_url("keys")).status_code == 200


def test_fail_next_can_answer_with_garbage(okta: MockOktaServer) -> None:
    okta.fail_next("discovery", status=200, body="<html>not json")
    response = requests.get(okta.endpoint_url("discovery"))
    assert (response.status_code, response.text) == (200, "<html>not json")


def test_fail_next_can_delay_a_normal_answer(okta: MockOktaServer) -> None:
    okta.fail_next("keys", status=None, delay=0.3)
    started = time.monotonic()
    response = requests.get(okta.endpoint_url("keys"))
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200


def test_fail_next_applies_to_several_requests(okta: MockOktaServer) -> None:
    okta.fail_next("token", status=500, times=2)
    statuses = [token_request(okta, grant_type="client_credentials").status_code for _ in range(3)]
    assert statuses[:2] == [500, 500]
    assert statuses[2] != 500


def test_fail_next_rejects_an_unknown_endpoint(okta: MockOktaServer) -> None:
    with pytest.raises(ValueError):
        okta.fail_next("nowhere")


def test_count_tracks_requests_per_endpoint(okta: MockOktaServer) -> None:
    requests.get(okta.endpoint_url("keys"))
    requests.get(okta.endpoint_url("keys"))
    requests.get(f"{okta.issuer}/.well-known/oauth-authorization-server")
    assert okta.count("keys") == 2
    assert okta.count("discovery") == 1
    assert okta.count("token") == 0


def test_login_counts_as_two_authorize_requests(okta: MockOktaServer) -> None:
    okta.login(authorize_url(okta)[0], "alice")
    assert okta.count("authorize") == 2


def test_request_log_keeps_no_query_strings(okta: MockOktaServer) -> None:
    requests.get(logout_url(okta, okta.sign({"aud": "web-app"})), allow_redirects=False)
    [entry] = okta.request_log
    assert (entry.endpoint, entry.method, entry.path) == ("logout", "GET", "/oauth2/default/v1/logout")


def test_reset_clears_counts_and_pending_faults(okta: MockOktaServer) -> None:
    okta.fail_next("keys")
    requests.get(okta.endpoint_url("discovery"))
    okta.reset()
    assert okta.count("discovery") == 0
    assert okta.request_log == []
    assert requests.get(okta.endpoint_url("keys")).status_code == 200
