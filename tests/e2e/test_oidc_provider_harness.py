"""The oidc-provider harness on its own, driven with requests (no Flask extension involved)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.e2e.provider import JWT_BEARER_GRANT, TOKEN_EXCHANGE_GRANT, OidcProvider

pytestmark = pytest.mark.e2e

API_AUDIENCE = "api://default"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ID_JAG_TYPE = "urn:ietf:params:oauth:token-type:id-jag"
SCOPE = "openid profile email offline_access messages:read"


def _jwt_part(token: str, index: int) -> dict[str, object]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def jwt_header(token: str) -> dict[str, object]:
    return _jwt_part(token, 0)


def jwt_claims(token: str) -> dict[str, object]:
    return _jwt_part(token, 1)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def token_request(provider: OidcProvider, client_name: str, **data: str) -> requests.Response:
    client = provider.clients[client_name]
    if "client_secret" in client:
        auth = (client["client_id"], client["client_secret"])
    else:
        auth, data["client_id"] = None, client["client_id"]
    return requests.post(f"{provider.issuer}/token", data=data, auth=auth, timeout=5)


def callback_params(callback_url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(callback_url).query).items()}


def authorization_params(
    provider: OidcProvider, client_name: str, *, state: str, challenge: str, scope: str = SCOPE
) -> dict[str, str]:
    return {
        "client_id": provider.clients[client_name]["client_id"],
        "response_type": "code",
        "redirect_uri": provider.redirect_uri,
        "scope": scope,
        "prompt": "consent",  # oidc-provider only grants offline_access with prompt=consent (OIDC Core 11)
        "state": state,
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def authorize(provider: OidcProvider, params: dict[str, str]) -> dict[str, str]:
    """Sign alice in through the authorization endpoint and return the callback's query parameters."""
    callback_url = provider.login(requests.Session(), f"{provider.issuer}/auth?{urlencode(params)}")
    assert callback_url.startswith(provider.redirect_uri + "?")
    return callback_params(callback_url)


def sign_in(provider: OidcProvider, client_name: str = "web") -> dict[str, object]:
    """Run the authorization code flow with PKCE and return the token response."""
    verifier, challenge = pkce_pair()
    params = authorize(provider, authorization_params(provider, client_name, state="s", challenge=challenge))
    response = token_request(
        provider,
        client_name,
        grant_type="authorization_code",
        code=params["code"],
        redirect_uri=provider.redirect_uri,
        code_verifier=verifier,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_discovery_advertises_iss_parameter_and_par(oidc_provider: OidcProvider) -> None:
    discovery = oidc_provider.discovery()

    assert discovery["issuer"] == oidc_provider.issuer
    assert discovery["authorization_response_iss_parameter_supported"] is True
    assert discovery["pushed_authorization_request_endpoint"] == f"{oidc_provider.issuer}/request"
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    grant_types = set(discovery["grant_types_supported"])
    assert {TOKEN_EXCHANGE_GRANT, JWT_BEARER_GRANT, "client_credentials"} <= grant_types


def test_code_flow_callback_has_code_state_and_iss(oidc_provider: OidcProvider) -> None:
    state = secrets.token_urlsafe(16)
    request = authorization_params(oidc_provider, "web", state=state, challenge=pkce_pair()[1])

    params = authorize(oidc_provider, request)

    assert params["code"]
    assert params["state"] == state
    assert params["iss"] == oidc_provider.issuer


def test_authorization_requires_pkce(oidc_provider: OidcProvider) -> None:
    params = authorization_params(oidc_provider, "web", state="s", challenge="")
    del params["code_challenge"], params["code_challenge_method"]

    url = f"{oidc_provider.issuer}/auth?{urlencode(params)}"

    response = requests.get(url, allow_redirects=False, timeout=5)

    assert callback_params(response.headers["Location"])["error"] == "invalid_request"


def test_pushed_authorization_request(oidc_provider: OidcProvider) -> None:
    client = oidc_provider.clients["web"]
    pushed = requests.post(
        oidc_provider.discovery()["pushed_authorization_request_endpoint"],
        data=authorization_params(oidc_provider, "web", state="pushed", challenge=pkce_pair()[1]),
        auth=(client["client_id"], client["client_secret"]),
        timeout=5,
    )
    assert pushed.status_code == 201, pushed.text

    request_uri = pushed.json()["request_uri"]

    params = authorize(oidc_provider, {"client_id": client["client_id"], "request_uri": request_uri})

    assert params["state"] == "pushed"
    assert params["code"]


def test_public_client_signs_in_without_secret(oidc_provider: OidcProvider) -> None:
    tokens = sign_in(oidc_provider, "public")

    assert jwt_claims(tokens["id_token"])["aud"] == oidc_provider.clients["public"]["client_id"]
    assert tokens["refresh_token"]


def test_code_exchange_returns_id_token_and_jwt_access_token(oidc_provider: OidcProvider) -> None:
    tokens = sign_in(oidc_provider)

    id_token = jwt_claims(tokens["id_token"])
    assert id_token["iss"] == oidc_provider.issuer
    assert id_token["aud"] == oidc_provider.clients["web"]["client_id"]
    assert id_token["sub"] == "alice"
    assert id_token["email"] == "alice@example.com"
    assert id_token["groups"] == ["Everyone", "Staff"]
    assert jwt_header(tokens["access_token"])["typ"] == "at+jwt"
    access_token = jwt_claims(tokens["access_token"])
    assert access_token["aud"] == API_AUDIENCE
    assert access_token["sub"] == "alice"
    assert "messages:read" in access_token["scope"].split()
    assert tokens["refresh_token"]


def test_userinfo_accepts_jwt_access_token(oidc_provider: OidcProvider) -> None:
    tokens = sign_in(oidc_provider)

    response = requests.get(
        f"{oidc_provider.issuer}/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=5
    )

    assert response.status_code == 200, response.text
    assert response.json()["email"] == "alice@example.com"


def test_refresh_tokens_rotate(oidc_provider: OidcProvider) -> None:
    first = sign_in(oidc_provider)["refresh_token"]

    refreshed = token_request(oidc_provider, "web", grant_type="refresh_token", refresh_token=first)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] != first

    reused = token_request(oidc_provider, "web", grant_type="refresh_token", refresh_token=first)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_refresh_token_introspection_and_revocation(oidc_provider: OidcProvider) -> None:
    refresh_token = sign_in(oidc_provider)["refresh_token"]
    client = oidc_provider.clients["web"]
    auth = (client["client_id"], client["client_secret"])

    def introspect() -> dict[str, object]:
        url = f"{oidc_provider.issuer}/token/introspection"
        return requests.post(url, data={"token": refresh_token}, auth=auth, timeout=5).json()

    assert introspect()["active"] is True
    revoked = requests.post(
        f"{oidc_provider.issuer}/token/revocation", data={"token": refresh_token}, auth=auth, timeout=5
    )
    assert revoked.status_code == 200
    assert introspect() == {"active": False}


@pytest.mark.parametrize("subject_token_type", [ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE])
def test_token_exchange_issues_access_token_for_audience(
    oidc_provider: OidcProvider, subject_token_type: str
) -> None:
    tokens = sign_in(oidc_provider)
    subject_token = tokens["access_token" if subject_token_type == ACCESS_TOKEN_TYPE else "id_token"]

    response = token_request(
        oidc_provider,
        "service",
        grant_type=TOKEN_EXCHANGE_GRANT,
        subject_token=subject_token,
        subject_token_type=subject_token_type,
        audience="api://orders",
        scope="orders:read",
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    claims = jwt_claims(body["access_token"])
    assert (claims["aud"], claims["sub"], claims["scope"]) == ("api://orders", "alice", "orders:read")


def test_token_exchange_rejects_forged_subject_token(oidc_provider: OidcProvider) -> None:
    response = token_request(
        oidc_provider,
        "service",
        grant_type=TOKEN_EXCHANGE_GRANT,
        subject_token="not-a-token",
        subject_token_type=ACCESS_TOKEN_TYPE,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_id_jag_redeems_with_jwt_bearer_grant(oidc_provider: OidcProvider) -> None:
    id_token = sign_in(oidc_provider)["id_token"]

    exchanged = token_request(
        oidc_provider,
        "web",
        grant_type=TOKEN_EXCHANGE_GRANT,
        subject_token=id_token,
        subject_token_type=ID_TOKEN_TYPE,
        requested_token_type=ID_JAG_TYPE,
        audience=oidc_provider.issuer,
        scope="messages:read",
    )
    assert exchanged.status_code == 200, exchanged.text
    assert exchanged.json()["issued_token_type"] == ID_JAG_TYPE
    id_jag = exchanged.json()["access_token"]
    assert jwt_header(id_jag)["typ"] == "oauth-id-jag+jwt"
    assert jwt_claims(id_jag)["client_id"] == oidc_provider.clients["web"]["client_id"]

    redeemed = token_request(oidc_provider, "web", grant_type=JWT_BEARER_GRANT, assertion=id_jag)
    assert redeemed.status_code == 200, redeemed.text
    claims = jwt_claims(redeemed.json()["access_token"])
    assert (claims["aud"], claims["sub"], claims["scope"]) == (API_AUDIENCE, "alice", "messages:read")


def test_client_credentials_issue_jwt_access_token(oidc_provider: OidcProvider) -> None:
    response = token_request(oidc_provider, "service", grant_type="client_credentials", scope="messages:read")

    assert response.status_code == 200, response.text
    claims = jwt_claims(response.json()["access_token"])
    assert claims["aud"] == API_AUDIENCE
    assert claims["sub"] == oidc_provider.clients["service"]["client_id"]
    assert claims["scope"] == "messages:read"
