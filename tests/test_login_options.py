"""Per-request sign-in options on ``/login``: strictly checked, a 400 page for anything malformed."""

from __future__ import annotations

import pytest

from flask_okta_client.config import load_config
from flask_okta_client.errors import ConfigError
from tests.site import make_site, query, start_login

MALFORMED = {
    "superscript digit": {"max_age": "\u00b2"},
    "arabic-indic digits": {"max_age": "\u0663\u0660\u0660"},
    "five thousand digits": {"max_age": "9" * 5000},
    "ten digits": {"max_age": "1" * 10},
    "negative max_age": {"max_age": "-1"},
    "max_age with spaces": {"max_age": " 300"},
    "unknown prompt": {"prompt": "everything"},
    "prompt none with login": {"prompt": "none login"},
    "repeated prompt word": {"prompt": "login login"},
    "prompt with a tab": {"prompt": "login\tconsent"},
    "login_hint with a newline": {"login_hint": "ann@example.com\r\nX-Injected: 1"},
    "login_hint with a nul": {"login_hint": "ann\x00@example.com"},
    "long login_hint": {"login_hint": "a" * 257},
    "login_hint that was not utf-8": {"login_hint": "ann\ufffd@example.com"},
    "acr_values with non-ascii": {"acr_values": "urn:okta:loa:\u00e9"},
    "acr_values with a control character": {"acr_values": "urn:a\x07"},
    "long acr_values": {"acr_values": "a" * 257},
}


@pytest.mark.parametrize("params", MALFORMED.values(), ids=MALFORMED.keys())
def test_login_refuses_a_malformed_option_with_a_400_page(client, okta_mock_server, params):
    response = client.get("/login", query_string=params, headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "<html" in response.get_data(as_text=True).lower()
    assert okta_mock_server.count("authorize") == 0


@pytest.mark.parametrize("name", ["prompt", "max_age", "login_hint", "acr_values"])
def test_login_refuses_an_option_given_twice(client, name):
    response = client.get(f"/login?{name}=login&{name}=consent")
    assert response.status_code == 400


def test_login_passes_well_formed_options_through(client):
    params = query(start_login(client, prompt="login consent", max_age="0", login_hint="Zoë +1 555 0100",
                               acr_values="phr urn:okta:loa:2fa:any"))
    assert (params["prompt"], params["max_age"]) == ("login consent", "0")
    assert params["login_hint"] == "Zoë +1 555 0100"
    assert params["acr_values"] == "phr urn:okta:loa:2fa:any"


def test_an_empty_option_falls_back_to_configuration(okta_settings):
    client = make_site(okta_settings, OKTA_PROMPT="login", OKTA_MAX_AGE=600).test_client()
    params = query(start_login(client, prompt="", max_age=""))
    assert (params["prompt"], params["max_age"]) == ("login", "600")


def test_a_query_option_overrides_configuration(okta_settings):
    client = make_site(okta_settings, OKTA_PROMPT="login").test_client()
    assert query(start_login(client, prompt="consent"))["prompt"] == "consent"


SETTINGS = {"OKTA_ISSUER": "https://dev-1.okta.com/oauth2/default", "OKTA_CLIENT_ID": "0oa1"}


@pytest.mark.parametrize("setting", [
    {"OKTA_PROMPT": "none login"},
    {"OKTA_MAX_AGE": 10**10},
    {"OKTA_ACR_VALUES": "urn:a\nurn:b"},
])
def test_a_sign_in_option_setting_that_every_sign_in_would_refuse_is_a_config_error(setting):
    key = next(iter(setting))
    with pytest.raises(ConfigError, match=key):
        load_config({**SETTINGS, **setting}, environ={})
