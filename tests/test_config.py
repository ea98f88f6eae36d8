"""Specification of ``load_config``: sources, precedence, validation and messages."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from flask_okta_client.config import load_config
from flask_okta_client.errors import ConfigError

ISSUER = "https://dev-123456.okta.com/oauth2/default"
CLIENT_ID = "0oa1client2id3"
SECRET = "super-secret-value-do-not-print-0123456789"


@pytest.fixture(autouse=True)
def empty_working_directory(tmp_path, monkeypatch):
    """No okta.json / okta.ini from the real working directory can leak in."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)


def load(environ=None, **settings):
    return load_config(settings, environ={} if environ is None else environ)


def config_error(**settings) -> str:
    with pytest.raises(ConfigError) as info:
        load(**settings)
    return str(info.value)


# ----------------------------------------------------------------- sources


def test_settings_are_read_from_the_flask_config():
    app = Flask(__name__)
    app.config.update(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_CLIENT_SECRET=SECRET)
    config = load_config(app.config, environ={})
    assert (config.issuer, config.client_id, config.client_secret) == (ISSUER, CLIENT_ID, SECRET)


def test_defaults_for_a_public_client():
    config = load(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID)
    assert config.client_secret is None
    assert config.client_auth_method == "none"
    assert config.scopes == ("openid", "profile", "email")
    assert config.clock_skew == 60
    assert config.audience == "api://default"


def test_a_client_secret_defaults_to_client_secret_basic():
    assert load(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_CLIENT_SECRET=SECRET).client_auth_method == (
        "client_secret_basic"
    )


def test_settings_are_read_from_the_environment():
    environ = {"OKTA_ISSUER": ISSUER, "OKTA_CLIENT_ID": CLIENT_ID, "OKTA_CLOCK_SKEW": "30"}
    config = load_config({}, environ=environ)
    assert (config.issuer, config.client_id, config.clock_skew) == (ISSUER, CLIENT_ID, 30)


def test_flask_config_wins_over_the_environment():
    config = load_config({"OKTA_CLIENT_ID": "from-flask"},
                         environ={"OKTA_ISSUER": ISSUER, "OKTA_CLIENT_ID": "from-env"})
    assert config.client_id == "from-flask"


def test_settings_are_read_from_okta_json_named_by_okta_client_config(tmp_path):
    path = tmp_path / "okta.json"
    path.write_text(json.dumps({"issuer": ISSUER, "client_id": CLIENT_ID, "client_secret": SECRET,
                                "scope": "openid email", "audience": "api://orders"}))
    config = load(OKTA_CLIENT_CONFIG=str(path))
    assert (config.issuer, config.client_id, config.client_secret) == (ISSUER, CLIENT_ID, SECRET)
    assert config.scopes == ("openid", "email")
    assert config.audience == "api://orders"


def test_okta_client_config_can_come_from_the_environment(tmp_path):
    path = tmp_path / "okta.json"
    path.write_text(json.dumps({"issuer": ISSUER, "client_id": CLIENT_ID}))
    config = load_config({}, environ={"OKTA_CLIENT_CONFIG": str(path)})
    assert config.client_id == CLIENT_ID


def test_settings_are_read_from_okta_ini_named_by_okta_client_config(tmp_path):
    path = tmp_path / "okta.ini"
    path.write_text(f"[okta]\nissuer = {ISSUER}\nclient_id = {CLIENT_ID}\nclient_secret = {SECRET}\n")
    config = load(OKTA_CLIENT_CONFIG=str(path))
    assert (config.issuer, config.client_id, config.client_secret) == (ISSUER, CLIENT_ID, SECRET)


def test_flask_config_key_wins_over_the_sdk_file(tmp_path):
    path = tmp_path / "okta.json"
    path.write_text(json.dumps({"issuer": ISSUER, "client_id": "from-file"}))
    config = load(OKTA_CLIENT_CONFIG=str(path), OKTA_CLIENT_ID="from-flask")
    assert config.client_id == "from-flask"
    assert config.issuer == ISSUER


def test_environment_wins_over_the_sdk_file(tmp_path):
    path = tmp_path / "okta.ini"
    path.write_text(f"[okta]\nissuer = {ISSUER}\nclient_id = from-file\n")
    config = load_config({"OKTA_CLIENT_CONFIG": str(path)}, environ={"OKTA_CLIENT_ID": "from-env"})
    assert config.client_id == "from-env"


def test_okta_json_in_the_working_directory_is_used(tmp_path):
    (tmp_path / "cwd" / "okta.json").write_text(json.dumps({"issuer": ISSUER, "client_id": CLIENT_ID}))
    assert load().client_id == CLIENT_ID


def test_unreadable_sdk_file_is_a_config_error_naming_okta_client_config(tmp_path):
    message = config_error(OKTA_CLIENT_CONFIG=str(tmp_path / "missing.json"))
    assert "OKTA_CLIENT_CONFIG" in message


def test_invalid_json_sdk_file_is_a_config_error(tmp_path):
    path = tmp_path / "okta.json"
    path.write_text("{not json")
    assert "OKTA_CLIENT_CONFIG" in config_error(OKTA_CLIENT_CONFIG=str(path))


def test_sdk_json_file_that_is_not_an_object_is_a_config_error(tmp_path):
    path = tmp_path / "okta.json"
    path.write_text("[1, 2]")
    assert "OKTA_CLIENT_CONFIG" in config_error(OKTA_CLIENT_CONFIG=str(path))


# ----------------------------------------------------------------- issuer


def test_okta_domain_and_authorization_server_id_build_the_issuer():
    config = load(OKTA_DOMAIN="dev-123456.okta.com", OKTA_AUTHORIZATION_SERVER_ID="aus9abc", OKTA_CLIENT_ID=CLIENT_ID)
    assert config.issuer == "https://dev-123456.okta.com/oauth2/aus9abc"
    assert not config.is_org_authorization_server


def test_okta_domain_alone_uses_the_default_authorization_server():
    config = load(OKTA_DOMAIN="https://dev-123456.okta.com/", OKTA_CLIENT_ID=CLIENT_ID)
    assert config.issuer == "https://dev-123456.okta.com/oauth2/default"


def test_empty_authorization_server_id_selects_the_org_server():
    config = load(OKTA_DOMAIN="dev-123456.okta.com", OKTA_AUTHORIZATION_SERVER_ID="", OKTA_CLIENT_ID=CLIENT_ID)
    assert config.issuer == "https://dev-123456.okta.com"
    assert config.is_org_authorization_server


def test_empty_authorization_server_id_from_the_environment_selects_the_org_server():
    config = load_config({}, environ={"OKTA_DOMAIN": "dev-123456.okta.com", "OKTA_AUTHORIZATION_SERVER_ID": "",
                                      "OKTA_CLIENT_ID": CLIENT_ID})
    assert config.is_org_authorization_server


def test_custom_authorization_server_issuer_is_not_the_org_server():
    assert not load(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID).is_org_authorization_server


def test_org_issuer_is_the_org_server():
    assert load(OKTA_ISSUER="https://dev-123456.okta.com", OKTA_CLIENT_ID=CLIENT_ID).is_org_authorization_server


def test_okta_issuer_wins_over_okta_domain():
    config = load(OKTA_ISSUER=ISSUER, OKTA_DOMAIN="other.okta.com", OKTA_CLIENT_ID=CLIENT_ID)
    assert config.issuer == ISSUER


def test_missing_issuer_error_names_okta_issuer():
    assert "OKTA_ISSUER" in config_error(OKTA_CLIENT_ID=CLIENT_ID)


def test_missing_client_id_error_names_okta_client_id():
    assert "OKTA_CLIENT_ID" in config_error(OKTA_ISSUER=ISSUER)


def test_blank_client_id_is_refused():
    assert "OKTA_CLIENT_ID" in config_error(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID="   ")


def test_http_issuer_is_refused_for_a_public_host():
    assert "OKTA_ISSUER" in config_error(OKTA_ISSUER="http://dev-123456.okta.com/oauth2/default",
                                         OKTA_CLIENT_ID=CLIENT_ID)


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:8080/oauth2/default", "http://localhost:3000",
                                    "http://[::1]:9000/oauth2/default", "http://127.0.0.2"])
def test_http_issuer_is_allowed_on_loopback(issuer):
    assert load(OKTA_ISSUER=issuer, OKTA_CLIENT_ID=CLIENT_ID).issuer == issuer


@pytest.mark.parametrize("issuer", ["http://localhost.evil.com", "http://127.0.0.1.evil.com", "http://10.0.0.1",
                                    "http://0.0.0.0"])
def test_http_issuer_is_refused_for_hosts_that_only_look_local(issuer):
    assert "OKTA_ISSUER" in config_error(OKTA_ISSUER=issuer, OKTA_CLIENT_ID=CLIENT_ID)


@pytest.mark.parametrize("issuer", ["dev-123456.okta.com", "ftp://dev-123456.okta.com", "https://",
                                    ISSUER + "?x=1", ISSUER + "#frag"])
def test_issuer_that_is_not_an_absolute_https_url_is_refused(issuer):
    assert "OKTA_ISSUER" in config_error(OKTA_ISSUER=issuer, OKTA_CLIENT_ID=CLIENT_ID)


# ----------------------------------------------------------------- scopes & numbers


def test_scopes_as_a_list():
    config = load(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_SCOPES=["openid", "offline_access"])
    assert config.scopes == ("openid", "offline_access")


def test_scopes_as_a_space_separated_string():
    config = load(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_SCOPES="openid  profile groups")
    assert config.scopes == ("openid", "profile", "groups")


def test_duplicate_scopes_are_removed_keeping_order():
    config = load(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_SCOPES="openid email openid")
    assert config.scopes == ("openid", "email")


@pytest.mark.parametrize("scopes", ["profile email", ["profile"]])
def test_scopes_without_openid_are_refused(scopes):
    assert "openid" in config_error(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_SCOPES=scopes)


@pytest.mark.parametrize("scopes", [42, ["openid", 7]])
def test_scopes_of_the_wrong_type_are_refused(scopes):
    assert "OKTA_SCOPES" in config_error(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_SCOPES=scopes)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("OKTA_CLOCK_SKEW", "a minute"),
        ("OKTA_CLOCK_SKEW", -5),
        ("OKTA_HTTP_TIMEOUT", "fast"),
        ("OKTA_HTTP_TIMEOUT", 0),
        ("OKTA_JWKS_TTL", 0),
        ("OKTA_METADATA_TTL", "hourly"),
        ("OKTA_LOGIN_TIMEOUT", "10m"),
        ("OKTA_MAX_PENDING_LOGINS", 0),
        ("OKTA_JWKS_REFRESH_COOLDOWN", -1),
        ("OKTA_MAX_AGE", "soon"),
    ],
)
def test_bad_numbers_are_refused_naming_the_key(key, value):
    assert key in config_error(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, **{key: value})


def test_numbers_from_the_environment_are_parsed():
    config = load_config({}, environ={"OKTA_ISSUER": ISSUER, "OKTA_CLIENT_ID": CLIENT_ID, "OKTA_HTTP_TIMEOUT": "2.5",
                                      "OKTA_JWKS_TTL": "120", "OKTA_MAX_AGE": "300"})
    assert (config.http_timeout, config.jwks_ttl, config.max_age) == (2.5, 120, 300)


def test_clock_skew_zero_is_honoured_from_the_flask_config():
    assert load(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_CLOCK_SKEW=0).clock_skew == 0


def test_clock_skew_zero_is_honoured_from_the_environment():
    config = load_config({}, environ={"OKTA_ISSUER": ISSUER, "OKTA_CLIENT_ID": CLIENT_ID, "OKTA_CLOCK_SKEW": "0"})
    assert config.clock_skew == 0


# ----------------------------------------------------------------- secrets & client authentication


def test_client_secret_never_appears_in_repr():
    config = load(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_CLIENT_SECRET=SECRET)
    assert SECRET not in repr(config)
    assert SECRET not in str(config)


def test_client_secret_post_without_a_secret_is_refused():
    message = config_error(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_CLIENT_AUTH_METHOD="client_secret_post")
    assert "OKTA_CLIENT_SECRET" in message


def test_client_secret_post_with_a_secret_is_accepted():
    config = load(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_CLIENT_SECRET=SECRET,
                  OKTA_CLIENT_AUTH_METHOD="client_secret_post")
    assert config.client_auth_method == "client_secret_post"


def test_unknown_client_auth_method_is_refused():
    assert "OKTA_CLIENT_AUTH_METHOD" in config_error(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID,
                                                     OKTA_CLIENT_AUTH_METHOD="password")


def test_unknown_token_algorithm_is_refused():
    message = config_error(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_ID_TOKEN_ALGORITHMS="RS256 none")
    assert "OKTA_ID_TOKEN_ALGORITHMS" in message


def test_token_algorithms_as_a_list():
    config = load(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID, OKTA_ID_TOKEN_ALGORITHMS=["RS256", "ES256"])
    assert config.id_token_algorithms == ("RS256", "ES256")


@pytest.mark.parametrize("path", ["https://evil.com", "//evil.com", "/\\evil.com", "dashboard"])
def test_default_redirect_must_be_a_local_path(path):
    assert "OKTA_DEFAULT_REDIRECT" in config_error(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID,
                                                   OKTA_DEFAULT_REDIRECT=path)


def test_redirect_uri_must_be_https_off_loopback():
    assert "OKTA_REDIRECT_URI" in config_error(OKTA_ISSUER=ISSUER, OKTA_CLIENT_ID=CLIENT_ID,
                                               OKTA_REDIRECT_URI="http://app.example/callback")


# ----------------------------------------------------------------- set but empty


@pytest.mark.parametrize("key", [
    "OKTA_ISSUER", "OKTA_CLIENT_ID", "OKTA_CLIENT_SECRET", "OKTA_AUDIENCE", "OKTA_TOKEN_STORE", "OKTA_PROMPT",
    "OKTA_TOKEN_VALIDATION", "OKTA_PRIVATE_KEY",
])
@pytest.mark.parametrize("empty", ["", "  "])
def test_a_setting_set_but_empty_is_an_error_naming_the_key(key, empty):
    settings = {"OKTA_ISSUER": ISSUER, "OKTA_CLIENT_ID": CLIENT_ID, key: empty}
    message = config_error(**settings)
    assert key in message and "empty" in message


def test_a_setting_empty_in_the_environment_is_an_error_too():
    with pytest.raises(ConfigError, match="OKTA_CLIENT_SECRET is set but empty"):
        load({"OKTA_ISSUER": ISSUER, "OKTA_CLIENT_ID": CLIENT_ID, "OKTA_CLIENT_SECRET": ""})


def test_a_setting_empty_in_the_sdk_file_is_an_error_too(tmp_path):
    path = tmp_path / "okta.json"
    path.write_text(json.dumps({"issuer": "", "client_id": CLIENT_ID}))
    assert "OKTA_ISSUER is set but empty" in config_error(OKTA_CLIENT_CONFIG=str(path))


# ----------------------------------------------------------------- values that look valid but are not


@pytest.mark.parametrize(("key", "value"), [
    ("OKTA_HTTP_TIMEOUT", "nan"),
    ("OKTA_HTTP_TIMEOUT", "inf"),
    ("OKTA_JWKS_REFRESH_COOLDOWN", float("inf")),
    ("OKTA_DEFAULT_REDIRECT", "/home\r\nSet-Cookie: x=1"),
    ("OKTA_DEFAULT_REDIRECT", "/\x00"),
    ("OKTA_URL_PREFIX", "//evil.example"),
    ("OKTA_URL_PREFIX", "/a\\b"),
    ("OKTA_URL_PREFIX", "/au\nth"),
    ("OKTA_SCOPES", "openid profile\u00e9"),
    ("OKTA_SCOPES", 'openid "email"'),
    ("OKTA_CLIENT_ID", "0oa\u00e91"),
    ("OKTA_CLIENT_ID", "0oa\n1"),
    ("OKTA_CLIENT_SECRET", "s\u00e9cret-value"),
])
def test_a_value_every_request_would_trip_over_is_a_config_error(key, value):
    settings = {"OKTA_ISSUER": ISSUER, "OKTA_CLIENT_ID": CLIENT_ID, key: value}
    assert key in config_error(**settings)
