"""Settings that look valid but are not: what a copy and paste from the Okta console gets wrong."""

from __future__ import annotations

import pytest

from flask_okta_client.config import load_config
from flask_okta_client.errors import ConfigError

ISSUER = "https://dev-123456.okta.com/oauth2/default"
CLIENT_ID = "0oa1client2id3"


@pytest.fixture(autouse=True)
def empty_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def config_error(**settings: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config({"OKTA_CLIENT_ID": CLIENT_ID, **settings}, environ={})
    return info.value.description


@pytest.mark.parametrize("issuer", [ISSUER + "/", "https://dev-123456.okta.com/"])
def test_trailing_slash_on_an_okta_issuer_is_refused_with_the_fix(issuer):
    message = config_error(OKTA_ISSUER=issuer)
    assert "must not end with '/'" in message and repr(issuer.rstrip("/")) in message
    assert "match the issuer in the provider's discovery document exactly" in message


def test_trailing_slash_from_okta_domain_is_not_an_error():
    config = load_config({"OKTA_DOMAIN": "https://dev-123456.okta.com/", "OKTA_CLIENT_ID": CLIENT_ID}, environ={})
    assert config.issuer == ISSUER


def test_trailing_slash_is_kept_for_providers_whose_issuer_has_one():
    # Auth0's issuer is "https://tenant.auth0.com/": discovery, not this check, decides.
    config = load_config({"OKTA_ISSUER": "https://tenant.eu.auth0.com/", "OKTA_CLIENT_ID": CLIENT_ID}, environ={})
    assert config.issuer == "https://tenant.eu.auth0.com/"


@pytest.mark.parametrize("pasted", [
    ISSUER + "/.well-known/openid-configuration",
    ISSUER + "/.well-known/oauth-authorization-server",
    "https://login.example.com/realms/shop/.well-known/openid-configuration",
    ISSUER + "/v1/authorize",
    "https://dev-123456.okta.com/oauth2/v1/token",
])
def test_an_endpoint_pasted_as_the_issuer_is_refused_naming_the_issuer(pasted):
    message = config_error(OKTA_ISSUER=pasted)
    base = pasted.split("/.well-known/")[0].split("/v1/")[0]
    assert "not one of its endpoints" in message and f"use {base!r}" in message


def test_the_admin_console_host_is_refused_naming_the_org_host():
    message = config_error(OKTA_ISSUER="https://dev-123456-admin.okta.com/oauth2/default")
    assert "admin console" in message and repr(ISSUER) in message


@pytest.mark.parametrize("issuer", ["https://dev-123456.okta.com/oauth2/ default", "https://dev-123456.okta.com/oauth2/default\tx"])
def test_whitespace_inside_the_issuer_is_refused(issuer):
    assert "must not contain spaces" in config_error(OKTA_ISSUER=issuer)


def test_surrounding_whitespace_is_trimmed():
    config = load_config({"OKTA_ISSUER": f"  {ISSUER}\n", "OKTA_CLIENT_ID": f" {CLIENT_ID} "}, environ={})
    assert (config.issuer, config.client_id) == (ISSUER, CLIENT_ID)


@pytest.mark.parametrize(("key", "value"), [
    ("OKTA_CLIENT_ID", "0oa1client 2id3"),
    ("OKTA_CLIENT_ID", "Client ID 0oa1client2id3"),
    ("OKTA_AUDIENCE", "api://default api://other"),
])
def test_a_value_with_spaces_inside_is_refused(key, value):
    settings = {"OKTA_ISSUER": ISSUER, key: value}
    message = config_error(**settings)
    assert key in message and "must not contain spaces" in message


@pytest.mark.parametrize(("key", "value"), [
    ("OKTA_AUDIENCE", "api://default\x01"),
    ("OKTA_CLIENT_ID", "0oa1client2id3\x7f"),
])
def test_a_value_with_control_characters_inside_is_refused(key, value):
    message = config_error(OKTA_ISSUER=ISSUER, **{key: value})
    assert key in message and "control characters" in message


@pytest.mark.parametrize(("key", "value"), [
    ("OKTA_TOKEN_STORE", "/var/lib/okta\0tokens"),
    ("OKTA_PRIVATE_KEY", "/etc/okta/key.pem\0"),
    ("OKTA_LOGOUT_CACHE", "redis://127.0.0.1:6379/0\0"),
    ("OKTA_CLIENT_CONFIG", "okta\0.json"),
])
def test_a_path_or_url_with_a_nul_character_is_a_config_error(key, value):
    assert config_error(OKTA_ISSUER=ISSUER, OKTA_CLIENT_SECRET="s3cret", **{key: value}) == \
        f"{key} contains a NUL character: copy it again"
