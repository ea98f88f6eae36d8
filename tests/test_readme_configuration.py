"""README's Configuration table and the settings load_config reads stay in step: same keys, same defaults."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from flask_okta_client import OktaClient
from flask_okta_client.config import load_config
from flask_okta_client.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
#: Settings of the table that load_config does not read: Flask's own, and the event hook's secret
#: (read by ``okta.event_hook`` under its ``secret_setting`` name).
READ_ELSEWHERE = {"SECRET_KEY", "SECRET_KEY_FALLBACKS", "SESSION_COOKIE_SAMESITE", "SESSION_COOKIE_SECURE",
                  "OKTA_EVENT_HOOK_SECRET"}
#: Read by load_config and documented in the prose above the table (where the SDK file is found).
DOCUMENTED_IN_PROSE = {"OKTA_CLIENT_CONFIG"}
MINIMAL = {"OKTA_ISSUER": "https://dev-1.okta.com/oauth2/default", "OKTA_CLIENT_ID": "0oa1"}


def configuration_rows() -> Iterator[tuple[str, str]]:
    """(key, its default cell) for every key of README's Configuration table."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Configuration"):readme.index("\n## ", readme.index("## Configuration") + 1)]
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) < 3:
            continue
        keys = re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0])
        defaults = [part.strip() for part in cells[1].split(",")] if len(keys) > 1 else [cells[1]]
        defaults = defaults * len(keys) if len(defaults) == 1 else defaults  # one default for all
        assert len(defaults) == len(keys), f"one default per key in the row of {keys}"
        yield from zip(keys, defaults)


class RecordingConfig(dict):
    """A Flask config that remembers every key asked for."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


def keys_load_config_reads() -> set[str]:
    asked = set()
    for settings in (MINIMAL, {"OKTA_DOMAIN": "https://dev-1.okta.com", "OKTA_CLIENT_ID": "0oa1"}):
        config = RecordingConfig(settings)
        load_config(config, environ={})
        asked |= config.asked
    return asked


REQUIRED = object()


def literal(cell: str) -> Any:
    """The value a default cell states, or ``...`` when it describes one in words."""
    if cell == "—":
        return REQUIRED
    if cell in ("none", "— (off)"):
        return None
    match = re.fullmatch(r"`([^`]*)`", cell)
    if match is None:
        return ...
    text = match.group(1)
    if re.fullmatch(r"\d+", text):
        return int(text)
    return {"true": True, "false": False, '""': "", "{}": {}}.get(text, text)


def test_every_key_of_the_table_is_read_and_every_key_read_is_in_the_table():
    documented = {key for key, _ in configuration_rows()} - READ_ELSEWHERE
    assert documented == keys_load_config_reads() - DOCUMENTED_IN_PROSE


def stated_defaults() -> list[tuple[str, str]]:
    """Rows whose default is a value, not words (and not the setting OKTA_ISSUER replaces)."""
    return [(key, cell) for key, cell in configuration_rows()
            if key.startswith("OKTA_") and key not in READ_ELSEWHERE | {"OKTA_DOMAIN"} and literal(cell) is not ...]


@pytest.mark.parametrize("key, cell", stated_defaults())
def test_the_stated_default_is_the_default(key, cell):
    expected = literal(cell)
    if key == "OKTA_AUTHORIZATION_SERVER_ID":
        config = load_config({"OKTA_DOMAIN": "https://dev-1.okta.com", "OKTA_CLIENT_ID": "0oa1"}, environ={})
        assert config.issuer == f"https://dev-1.okta.com/oauth2/{expected}"
        return
    if expected is REQUIRED:
        with pytest.raises(ConfigError, match=key):
            load_config({k: v for k, v in MINIMAL.items() if k != key}, environ={})
        return
    value = getattr(load_config(MINIMAL, environ={}), key.removeprefix("OKTA_").lower())
    if isinstance(value, tuple):
        value = " ".join(value)
    assert value == expected


def test_a_named_registration_has_its_own_url_prefix_and_cookie_name_by_default():
    config = load_config({"STAFF_ISSUER": MINIMAL["OKTA_ISSUER"], "STAFF_CLIENT_ID": "0oa2"}, environ={},
                         name="staff", prefix="STAFF_")
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"`STAFF_URL_PREFIX` defaults to `{config.url_prefix}`" in readme
    assert f"`STAFF_SESSION_COOKIE_NAME` to `{config.session_cookie_name}`" in readme


WRONG_VALUES = {"a dict": {"x": 1}, "a list of numbers": [1, 2], "an object": object(), "bytes": b"okta",
                "a negative number": -5, "infinity": float("inf"), "NaN": float("nan")}


@pytest.mark.parametrize("key", sorted(keys_load_config_reads()))
@pytest.mark.parametrize("value", list(WRONG_VALUES.values()), ids=list(WRONG_VALUES))
def test_a_setting_of_the_wrong_type_or_range_is_accepted_or_refused_naming_it(key, value):
    """README: a malformed setting fails at init_app with an error that names the key, never a traceback."""
    app = Flask("wrong_setting")
    app.config.update(MINIMAL, SECRET_KEY="s" * 40)
    app.config[key] = value
    try:
        OktaClient(app)
    except ConfigError as error:
        assert key in str(error)


@pytest.mark.parametrize("value", [2.5, True, "2.5"])
def test_a_whole_number_setting_refuses_a_fraction_or_a_boolean(value):
    with pytest.raises(ConfigError, match="OKTA_CLOCK_SKEW must be a whole number"):
        load_config({**MINIMAL, "OKTA_CLOCK_SKEW": value}, environ={})


@pytest.mark.parametrize("key", sorted(keys_load_config_reads() - {"OKTA_DOMAIN"}))
def test_only_the_two_settings_readme_names_may_be_empty(key):
    """README: a setting set to an empty string is an error, not an absent one; only
    OKTA_AUTHORIZATION_SERVER_ID and OKTA_URL_PREFIX may be empty."""
    settings = {**MINIMAL, key: ""}
    if key in ("OKTA_AUTHORIZATION_SERVER_ID", "OKTA_URL_PREFIX"):
        load_config(settings, environ={})
    else:
        with pytest.raises(ConfigError, match=f"{key} is set but empty"):
            load_config(settings, environ={})
