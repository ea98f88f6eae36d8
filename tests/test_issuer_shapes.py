"""Sign-in and bearer protection against every issuer shape, and how ``OKTA_TOKEN_VALIDATION=auto`` decides."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import requests

from flask_okta_client.config import load_config

offers_introspection = lambda m: "introspection_endpoint" in m.document  # noqa
from flask_okta_client.protocol.discovery import ProviderMetadata
from flask_okta_client.testing import MockClient, MockOktaServer
from flask_okta_client.testing.tokens import TEST_CLIENT_ID, TestTokens
from tests.site import make_site, sign_in

SHAPES = {
    "okta custom server": {"auth_server_id": "default"},
    "okta org server": {"auth_server_id": "org"},
    "root issuer": {"issuer_path": ""},
    "realm path": {"issuer_path": "/realms/x"},
    "tenant path": {"issuer_path": "/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"},
}
SECRET = secrets.token_urlsafe(24)


@pytest.fixture(scope="module", params=SHAPES.values(), ids=SHAPES.keys())
def server(request) -> Iterator[MockOktaServer]:
    with MockOktaServer(**request.param) as okta:
        okta.add_client(MockClient(
            TEST_CLIENT_ID, SECRET, redirect_uris=["http://localhost/authorization-code/callback"],
            scopes=("openid", "profile", "email", "messages:read"),
            grant_types=("authorization_code", "refresh_token", "client_credentials"),
        ))
        yield okta


def site(server: MockOktaServer, **settings):
    server.reset()
    return make_site({"OKTA_ISSUER": server.issuer, "OKTA_CLIENT_ID": TEST_CLIENT_ID,
                      "OKTA_CLIENT_SECRET": SECRET}, **settings).test_client()


def issued_access_token(server: MockOktaServer) -> str:
    """An access token the server issued itself (so it can also introspect it)."""
    response = requests.post(server.endpoint_url("token"), auth=(TEST_CLIENT_ID, SECRET), timeout=5,
                             data={"grant_type": "client_credentials", "scope": "messages:read"})
    response.raise_for_status()
    return response.json()["access_token"]


def test_the_mock_serves_discovery_at_the_issuer(server):
    document = requests.get(server.issuer + "/.well-known/openid-configuration", timeout=5).json()
    assert document["issuer"] == server.issuer


def test_sign_in_works_at_every_issuer_shape(server):
    client = site(server)
    assert sign_in(client, server, "alice").headers["Location"] == "/protected"
    assert client.get("/protected").status_code == 200


def test_auto_validates_bearer_tokens_locally_at_every_loopback_issuer_shape(server):
    client = site(server)
    token = TestTokens(server).access_token(scopes=["messages:read"])
    response = client.get("/api/messages", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert server.count("introspect") == 0


def test_introspect_mode_serves_an_org_behind_a_custom_domain(server):
    client = site(server, OKTA_TOKEN_VALIDATION="introspect")
    token = issued_access_token(server)
    response = client.get("/api/messages", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert server.count("introspect") == 1


# --------------------------------------------- which issuers auto treats as Okta's org server

WITH_INTROSPECTION = ProviderMetadata({"introspection_endpoint": "https://idp.example/introspect"})
WITHOUT_INTROSPECTION = ProviderMetadata({})


def auto_introspects(issuer: str, metadata: ProviderMetadata) -> bool:
    config = load_config({"OKTA_ISSUER": issuer, "OKTA_CLIENT_ID": "0oa1"}, environ={})
    return config.is_org_authorization_server and offers_introspection(metadata)


@pytest.mark.parametrize("issuer", [
    "https://dev-123.okta.com", "https://dev-123.oktapreview.com", "https://acme.okta-emea.com",
])
def test_auto_introspects_at_okta_org_servers_that_offer_it(issuer):
    assert auto_introspects(issuer, WITH_INTROSPECTION)
    assert not auto_introspects(issuer, WITHOUT_INTROSPECTION)


@pytest.mark.parametrize("issuer", [
    "https://dev-123.okta.com/oauth2/default",
    "https://dev-123.okta.com/oauth2/aus9abc",
    "https://login.example.com",
    "https://keycloak.example/realms/x",
    "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0",
    "https://accounts.google.com",
    "https://acme.us.auth0.com/",
    "https://notokta.com",
    "https://okta.com.evil.example",
])
def test_auto_validates_locally_everywhere_else(issuer):
    assert not auto_introspects(issuer, WITH_INTROSPECTION)
