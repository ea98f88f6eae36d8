"""Client credentials, token exchange, ID-JAG, JWT bearer and cross-app access against the mock Okta."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
from joserfc import jws, jwt
from joserfc.jwk import RSAKey

from flask_okta_client import ProviderError, ProviderUnavailable
from flask_okta_client.errors import ConfigError
from flask_okta_client.protocol import grants as grants_module
from flask_okta_client.protocol.client import GrantError
from flask_okta_client.protocol.grants import ID_JAG_TYPE, Grants, TokenResult
from flask_okta_client.testing.mock_server import MockClient, MockOktaServer
from tests.concurrency import run_concurrently
from tests.site import app_for_client

API_SCOPES = ("openid", "profile", "email", "api.read", "api.write")


@pytest.fixture(scope="module")
def server() -> Iterator[MockOktaServer]:
    with MockOktaServer() as okta:
        yield okta


@pytest.fixture
def signing_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "test-key", "alg": "RS256", "use": "sig"})


MakeGrants = Callable[..., Grants]


@pytest.fixture
def make_grants(server: MockOktaServer) -> MakeGrants:
    """A ``Grants`` for a fresh client registered at the mock (``client_kwargs`` go to MockClient)."""

    def make(settings: dict | None = None, **client_kwargs: object) -> Grants:
        client_id = "0oa" + secrets.token_hex(6)
        client_kwargs.setdefault("scopes", API_SCOPES)
        if "jwks" not in client_kwargs:
            client_kwargs.setdefault("client_secret", secrets.token_urlsafe(32))
        mock = server.add_client(MockClient(client_id, **client_kwargs))
        state = app_for_client(server, mock, settings).extensions["okta"]
        return Grants(state.config, state.client, state.http)

    return make


def user_id_token(server: MockOktaServer, grants: Grants, username: str = "alice") -> str:
    user = server.set_user(username)
    now = int(time.time())
    return server.sign({"iss": server.issuer, "aud": grants.config.client_id, "sub": user.sub,
                        "iat": now, "exp": now + 300})


def user_access_token(server: MockOktaServer, username: str = "alice") -> str:
    user = server.set_user(username)
    now = int(time.time())
    return server.sign({"iss": server.issuer, "aud": "api://default", "sub": username, "uid": user.sub,
                        "scp": ["openid"], "iat": now, "exp": now + 300})


def claims_of(token: str) -> dict:
    return json.loads(jws.extract_compact(token.encode()).payload)


# client credentials


def test_client_credentials_returns_a_token(make_grants: MakeGrants) -> None:
    grants = make_grants()
    result = grants.client_credentials_token("api.read")
    assert result.token_type == "Bearer"
    assert result.scope == "api.read"
    assert result.expires_at == pytest.approx(time.time() + 3600, abs=5)
    assert claims_of(result.access_token)["cid"] == grants.config.client_id
    assert result.access_token not in repr(result) and "raw" not in repr(result)


def test_client_credentials_are_cached_per_scope_set(server: MockOktaServer, make_grants: MakeGrants) -> None:
    grants = make_grants()
    first = grants.client_credentials_token(["api.read", "api.write"])
    assert grants.client_credentials_token("api.write api.read") is first
    assert server.count("token") == 1
    assert grants.client_credentials_token("api.read") is not first
    assert server.count("token") == 2


def test_concurrent_callers_share_one_request(server: MockOktaServer, make_grants: MakeGrants) -> None:
    grants = make_grants()
    server.fail_next("token", status=None, delay=0.3)  # a slow answer, so the callers pile up
    results = run_concurrently([lambda: grants.client_credentials_token("api.read")] * 20)
    assert all(isinstance(r, TokenResult) for r in results), results
    assert len({r.access_token for r in results}) == 1
    assert server.count("token") == 1


def test_concurrent_callers_share_one_failure(server: MockOktaServer, make_grants: MakeGrants) -> None:
    grants = make_grants()
    server.fail_next("token", status=503, delay=0.3)
    errors = run_concurrently([lambda: grants.client_credentials_token("api.read")] * 10)
    assert all(isinstance(e, ProviderUnavailable) for e in errors), errors
    assert server.count("token") == 1
    assert grants.client_credentials_token("api.read").access_token  # the next call tries again


def test_token_is_replaced_near_expiry(server: MockOktaServer, make_grants: MakeGrants,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    grants = make_grants()
    first = grants.client_credentials_token("api.read")
    later = time.time() + 3600 - 59  # inside the 60-second leeway
    monkeypatch.setattr(grants_module, "time", SimpleNamespace(time=lambda: later))
    second = grants.client_credentials_token("api.read")
    assert second.access_token != first.access_token
    assert server.count("token") == 2


# failures


def test_provider_503_is_unavailable(server: MockOktaServer, make_grants: MakeGrants) -> None:
    grants = make_grants()
    server.fail_next("token", status=503)
    with pytest.raises(ProviderUnavailable) as caught:
        grants.client_credentials_token("api.read")
    assert caught.value.status == 503


def test_garbage_body_is_provider_error(server: MockOktaServer, make_grants: MakeGrants) -> None:
    grants = make_grants()
    server.fail_next("token", status=200, body="<html>not json</html>")
    with pytest.raises(ProviderError) as caught:
        grants.client_credentials_token("api.read")
    assert caught.value.status == 502


def test_timeout_is_unavailable(server: MockOktaServer, make_grants: MakeGrants) -> None:
    grants = make_grants({"OKTA_HTTP_TIMEOUT": 0.5})
    grants.client.metadata.get()  # discovery first, so only the token request is slow
    server.fail_next("token", status=None, delay=1.0)
    with pytest.raises(ProviderUnavailable):
        grants.client_credentials_token("api.read")


def test_refused_scope_is_grant_error(make_grants: MakeGrants) -> None:
    with pytest.raises(GrantError) as caught:
        make_grants().client_credentials_token("admin.everything")
    assert caught.value.status == 400 and caught.value.error == "invalid_scope"


# token exchange and ID-JAG


def test_token_exchange(server: MockOktaServer, make_grants: MakeGrants) -> None:
    grants = make_grants()
    result = grants.token_exchange(user_access_token(server), audience="api://orders", scope="api.read")
    assert result.issued_token_type == "urn:ietf:params:oauth:token-type:access_token"
    claims = claims_of(result.access_token)
    assert claims["aud"] == "api://orders" and claims["sub"] == "alice" and claims["scp"] == ["api.read"]


def test_token_exchange_refusal_is_grant_error(make_grants: MakeGrants) -> None:
    with pytest.raises(GrantError) as caught:
        make_grants().token_exchange("not-a-token", audience="api://orders")
    assert caught.value.status == 400 and caught.value.error == "invalid_grant"


def test_id_jag(server: MockOktaServer, make_grants: MakeGrants) -> None:
    grants = make_grants()
    audience = "https://resource.example/oauth2/x"
    result = grants.id_jag(user_id_token(server, grants), audience=audience, scope="api.read")
    assert result.issued_token_type == ID_JAG_TYPE
    header = jws.extract_compact(result.access_token.encode()).headers()
    claims = claims_of(result.access_token)
    assert header["typ"] == "oauth-id-jag+jwt"
    assert claims["aud"] == audience and claims["client_id"] == grants.config.client_id


# JWT bearer


def test_jwt_bearer_with_given_assertion(server: MockOktaServer, make_grants: MakeGrants,
                                        signing_key: RSAKey) -> None:
    # A client with a secret that also registered a key for its assertions.
    grants = make_grants(jwks={"keys": [signing_key.as_dict(private=False)]},
                         client_secret=secrets.token_urlsafe(32), token_endpoint_auth_method="client_secret_basic")
    client_id = grants.config.client_id
    now = int(time.time())
    assertion = jwt.encode({"alg": "RS256", "kid": signing_key.kid},
                           {"iss": client_id, "sub": "bob", "aud": server.endpoint_url("token"),
                            "iat": now, "exp": now + 60, "jti": secrets.token_hex(8)}, signing_key)
    result = grants.jwt_bearer(assertion, scope="api.read")
    assert claims_of(result.access_token)["sub"] == "bob"


def test_jwt_bearer_signs_its_own_assertion(make_grants: MakeGrants, signing_key: RSAKey) -> None:
    grants = make_grants({"OKTA_PRIVATE_KEY": signing_key.as_dict(private=True)},
                         jwks={"keys": [signing_key.as_dict(private=False)]})
    assert grants.config.client_auth_method == "private_key_jwt"
    own = grants.jwt_bearer(scope="api.read")
    assert claims_of(own.access_token)["sub"] == grants.config.client_id
    for_user = grants.jwt_bearer(claims={"sub": "carol"}, scope="api.read")
    assert claims_of(for_user.access_token)["sub"] == "carol"


def test_jwt_bearer_without_key_is_config_error(make_grants: MakeGrants) -> None:
    with pytest.raises(ConfigError, match="OKTA_PRIVATE_KEY"):
        make_grants().jwt_bearer()


# cross-app access


def test_cross_app_access(server: MockOktaServer, make_grants: MakeGrants) -> None:
    # The mock trusts ID-JAGs it issued, so it plays both our and the target server.
    grants = make_grants()
    id_token = user_id_token(server, grants, "dave")
    result = grants.cross_app_access(id_token, target_issuer=server.issuer, scope="api.read")
    claims = claims_of(result.access_token)
    assert claims["uid"] == server.set_user("dave").sub and claims["scp"] == ["api.read"]
    grants.cross_app_access(user_id_token(server, grants, "dave"), target_issuer=server.issuer)
    assert server.count("discovery") == 2  # ours once, the target's once (cached)


def test_cross_app_access_checks_target_issuer(server: MockOktaServer, make_grants: MakeGrants) -> None:
    grants = make_grants()
    with pytest.raises(ProviderError, match="issuer"):
        grants.cross_app_access(user_id_token(server, grants), target_issuer=server.issuer + "/")


def test_cross_app_access_with_target_credentials(server: MockOktaServer, make_grants: MakeGrants) -> None:
    grants = make_grants()
    with pytest.raises(ProviderError) as caught:
        grants.cross_app_access(user_id_token(server, grants), target_issuer=server.issuer,
                                target_client_auth={"client_secret": "wrong-secret-" + "x" * 24})
    assert caught.value.error == "invalid_client"
