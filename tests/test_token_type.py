"""Every token response must say ``token_type: Bearer`` (RFC 6749 §7.1, OpenID Connect Core 3.1.3.3),
and its other fields must have their types (RFC 6749 §5.1)."""

from __future__ import annotations

import json
import time

import pytest

from flask_okta_client import ProviderError
from flask_okta_client.protocol.grants import ACCESS_TOKEN_TYPE, ID_JAG_TYPE
from flask_okta_client.testing.tokens import TEST_CLIENT_ID
from tests.site import make_site, query, start_login

REFUSED = {"mac": "mac", "DPoP without DPoP": "DPoP", "N_A for an access token": "N_A", "empty": "",
           "a number": 42, "missing": None}


def token_body(**fields) -> str:
    body = {"access_token": "at-" + str(time.time_ns()), "expires_in": 3600, **fields}
    return json.dumps({k: v for k, v in body.items() if v is not None})


def callback_with_token_type(okta_settings, okta_mock_server, token_type, **fields):
    """The site's answer to a callback whose token response has ``token_type`` (and ``fields``)
    and a valid ID token."""
    client = make_site(okta_settings).test_client()
    params = query(start_login(client))
    user = okta_mock_server.set_user("mallory")
    now = int(time.time())
    id_token = okta_mock_server.sign({"iss": okta_mock_server.issuer, "aud": TEST_CLIENT_ID, "sub": user.sub,
                                      "nonce": params["nonce"], "iat": now, "exp": now + 300})
    okta_mock_server.fail_next("token", status=200, body=token_body(**{"token_type": token_type,
                                                                       "id_token": id_token, **fields}))
    response = client.get("/authorization-code/callback", query_string={
        "code": "any", "state": params["state"], "iss": okta_mock_server.issuer,
    }, headers={"Accept": "text/html"})
    return client, response


@pytest.mark.parametrize("token_type", REFUSED.values(), ids=REFUSED.keys())
def test_sign_in_with_a_token_type_other_than_bearer_is_a_provider_error(okta_settings, okta_mock_server,
                                                                           token_type):
    client, response = callback_with_token_type(okta_settings, okta_mock_server, token_type)
    assert response.status_code == 502
    assert "<html" in response.get_data(as_text=True).lower()
    assert client.get("/protected").status_code == 302  # not signed in


@pytest.mark.parametrize("token_type", ["Bearer", "bearer", "BEARER"])
def test_bearer_is_compared_case_insensitively(okta_settings, okta_mock_server, token_type):
    client, response = callback_with_token_type(okta_settings, okta_mock_server, token_type)
    assert response.status_code == 302
    assert client.get("/protected").status_code == 200


@pytest.fixture
def okta(okta_settings):
    return make_site(okta_settings).extensions["okta"]


GRANTS = {
    "refresh": lambda okta: okta.client.refresh("rt"),
    "client credentials": lambda okta: okta.grants.client_credentials_token("messages:read"),
    "token exchange": lambda okta: okta.grants.token_exchange("subject", audience="api://other"),
    "jwt bearer": lambda okta: okta.grants.jwt_bearer("assertion"),
}


@pytest.mark.parametrize("grant", GRANTS.values(), ids=GRANTS.keys())
def test_every_grant_refuses_a_token_type_other_than_bearer(okta, okta_mock_server, grant):
    okta_mock_server.fail_next("token", status=200, body=token_body(token_type="mac"))
    with pytest.raises(ProviderError):
        grant(okta)


def test_an_exchanged_token_that_is_not_an_access_token_may_say_n_a(okta, okta_mock_server):
    """RFC 8693 §2.2.1: ``N_A`` when the issued token is not an access token (an ID-JAG)."""
    okta_mock_server.fail_next("token", status=200, body=token_body(token_type="N_A", issued_token_type=ID_JAG_TYPE))
    assert okta.grants.id_jag("id-token", audience="https://as.example").issued_token_type == ID_JAG_TYPE
    okta_mock_server.fail_next("token", status=200, body=token_body(token_type="N_A",
                                                                   issued_token_type=ACCESS_TOKEN_TYPE))
    with pytest.raises(ProviderError):
        okta.grants.token_exchange("subject", audience="api://other")


def test_the_accepted_token_types_are_a_parameter(okta, okta_mock_server):
    okta.client.accepted_token_types = frozenset({"bearer", "dpop"})
    okta_mock_server.fail_next("token", status=200, body=token_body(token_type="DPoP"))
    assert okta.client.refresh("rt")["token_type"] == "DPoP"


MALFORMED_FIELDS = {
    "numeric refresh_token": {"refresh_token": 12345},
    "list scope": {"scope": ["openid"]},
    "infinite expires_in": {"expires_in": float("inf")},
    "list expires_in": {"expires_in": [3600]},
    "non-numeric expires_in": {"expires_in": "soon"},
    "negative expires_in": {"expires_in": -1},
    "boolean expires_in": {"expires_in": True},
}


@pytest.mark.parametrize("fields", MALFORMED_FIELDS.values(), ids=MALFORMED_FIELDS.keys())
def test_sign_in_with_a_malformed_token_response_field_is_a_provider_error(okta_settings, okta_mock_server,
                                                                             fields):
    client, response = callback_with_token_type(okta_settings, okta_mock_server, "Bearer", **fields)
    assert response.status_code == 502
    assert client.get("/protected").status_code == 302


def test_a_refresh_answering_a_numeric_refresh_token_is_a_provider_error(okta, okta_mock_server):
    okta_mock_server.fail_next("token", status=200, body=token_body(token_type="Bearer", refresh_token=7))
    with pytest.raises(ProviderError):
        okta.client.refresh("rt")
