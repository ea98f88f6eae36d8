"""One typed, validated configuration object, read once at ``init_app``.

Every setting is looked up in ``app.config``, then in the environment under the
same name, then in an Okta client SDK file (``okta.json`` / ``okta.ini``, found
through ``OKTA_CLIENT_CONFIG`` or in the working directory). Mistakes raise
:class:`~flask_okta_client.errors.ConfigError` naming the key and the fix.
"""

from __future__ import annotations

import configparser
import ipaddress
import json
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .web.login_options import (
    DEFAULT_QUERY_PARAMS,
    MAX_AGE_DIGITS,
    MAX_TEXT_LENGTH,
    is_ascii_words,
    is_param_name,
    is_prompt,
)
from .web.redirects import safe_next_url

CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none")
#: ``Ed25519`` is RFC 9864's name for EdDSA with an Ed25519 key; ``EdDSA`` (RFC 8037) is still accepted.
ASYMMETRIC_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "Ed25519", "EdDSA",
)
HMAC_ALGORITHMS = ("HS256", "HS384", "HS512")
#: Algorithms accepted for DPoP proofs at this site's API unless ``OKTA_DPOP_PROOF_ALGORITHMS`` narrows them.
DPOP_PROOF_ALGORITHMS = (
    "ES256", "ES384", "ES512", "Ed25519", "EdDSA", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512",
)
TOKEN_VALIDATION_MODES = ("auto", "local", "introspect")
PAR_MODES = ("auto", "always", "never")
#: RFC 6749 §3.3 scope-token.
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
#: The settings prefix of the default registration; a registration named ``staff`` reads ``STAFF_*``.
DEFAULT_PREFIX = "OKTA_"
#: A registration's name: a blueprint name, the start of its cookie's name and of its settings prefix.
REGISTRATION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
SETTINGS_PREFIX = re.compile(r"[A-Z][A-Z0-9_]{0,39}_")
#: Settings whose empty value means something (the org authorization server, no prefix).
EMPTY_ALLOWED = frozenset({"OKTA_AUTHORIZATION_SERVER_ID", "OKTA_URL_PREFIX"})
#: Okta's own domains: an issuer here without ``/oauth2/`` is an org authorization server.
OKTA_DOMAINS = ("okta.com", "oktapreview.com", "okta-emea.com")

# Keys of the Okta client SDK's okta.json / okta.ini and the settings they feed.
SDK_FILE_KEYS = {
    "issuer": "OKTA_ISSUER",
    "client_id": "OKTA_CLIENT_ID",
    "client_secret": "OKTA_CLIENT_SECRET",
    "scope": "OKTA_SCOPES",
    "redirect_uri": "OKTA_REDIRECT_URI",
    "logout_redirect_uri": "OKTA_POST_LOGOUT_REDIRECT_URI",
    "audience": "OKTA_AUDIENCE",
}


DEFAULT_SESSION_ENDPOINT_CLAIMS = ("sub", "name", "email", "groups")
TOKEN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class SessionEndpointToken:
    """A token the session endpoint hands out under ``name``: the user's own access token
    (``audience`` is ``None``) or one exchanged (RFC 8693) for ``audience`` and ``scope``."""

    name: str
    audience: str | None = None
    scope: str | None = None


@dataclass(frozen=True)
class OktaConfig:
    """The validated settings. Build it with :func:`load_config`."""

    issuer: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    client_auth_method: str = "none"
    redirect_uri: str | None = None
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    post_logout_redirect_uri: str | None = None
    clock_skew: int = 60
    url_prefix: str = ""
    default_redirect: str | None = None  # None: the app's root, wherever it is mounted
    prompt: str | None = None
    max_age: int | None = None
    acr_values: str | None = None
    id_token_algorithms: tuple[str, ...] | None = None
    access_token_algorithms: tuple[str, ...] | None = None
    audience: str = "api://default"
    token_validation: str = "auto"
    use_userinfo: bool = False
    http_timeout: float = 5.0
    http_retries: int = 2
    refresh_timeout: float = 30.0
    metadata_ttl: int = 3600
    jwks_ttl: int = 3600
    jwks_refresh_cooldown: float = 60.0
    login_timeout: int = 600
    max_pending_logins: int = 5
    verified_token_cache_size: int = 10_000
    introspection_refusal_ttl: int = 300
    introspection_require_token_type: bool = True
    token_store: Any = field(default="session", repr=False)
    token_store_cache: bool = True
    token_store_cache_size: int = 5_000
    refresh_leeway: int = 60
    session_idle_timeout: int = 8 * 3600
    session_absolute_timeout: int = 24 * 3600
    private_key: Any = field(default=None, repr=False)
    private_key_id: str | None = None
    use_par: str = "auto"
    require_login: bool = False
    silent_login: bool = False
    login_query_params: tuple[str, ...] = DEFAULT_QUERY_PARAMS
    backchannel_logout: bool = False
    backchannel_logout_path: str = "/backchannel-logout"
    logout_cache: Any = field(default=None, repr=False)
    dpop: bool = False
    dpop_key: Any = field(default=None, repr=False)
    dpop_algorithm: str | None = None
    dpop_proof_algorithms: tuple[str, ...] = DPOP_PROOF_ALGORITHMS
    dpop_proof_max_age: int = 60
    dpop_require_nonce: bool = False
    session_cookie_name: str = "okta_session"
    session_endpoint: str | None = None
    session_endpoint_claims: tuple[str, ...] = DEFAULT_SESSION_ENDPOINT_CLAIMS
    session_endpoint_tokens: Mapping[str, SessionEndpointToken] = field(default_factory=dict)
    #: What this registration's settings start with: ``OKTA_``, or e.g. ``STAFF_`` for ``name="staff"``.
    settings_prefix: str = DEFAULT_PREFIX

    def setting(self, key: str) -> str:
        """The real name of the ``OKTA_*`` setting ``key`` for this registration."""
        return prefixed(key, self.settings_prefix)

    @property
    def is_org_authorization_server(self) -> bool:
        """Okta's org authorization server: an Okta host and no ``/oauth2/`` path.

        An Okta org behind a custom domain cannot be told from any other provider:
        such sites set ``OKTA_TOKEN_VALIDATION=introspect``.
        """
        parts = urlsplit(self.issuer)
        return is_okta_host(parts.hostname) and "/oauth2/" not in parts.path + "/"


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string")
    return value.strip()


def _int(key: str, value: Any, minimum: int = 0) -> int:
    """A whole number from an int or its text; ``True``, ``2.5`` and infinity are not one."""
    try:
        if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{key} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{key} must be at least {minimum}, got {number}")
    return number


def _float(key: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{key} must be a finite number greater than 0, got {number}")
    return number


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{key} must be true or false, got {value!r}")


def _words(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        words = value.replace(",", " ").split()
    elif isinstance(value, (list, tuple)) and all(isinstance(w, str) for w in value):
        words = [w.strip() for w in value if w.strip()]
    else:
        raise ConfigError(f"{key} must be a list or a space-separated string, got {value!r}")
    if not words:
        raise ConfigError(f"{key} must not be empty")
    return tuple(dict.fromkeys(words))


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}; got {value!r}")
    return value


def is_okta_host(host: str | None) -> bool:
    """A host name under one of Okta's own domains (``dev-123.okta.com``…)."""
    return bool(host) and any(host == domain or host.endswith("." + domain) for domain in OKTA_DOMAINS)


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(key: str, value: Any) -> str:
    """An absolute URL: https anywhere, http only on a loopback host."""
    url = _text(key, value)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{key} must be an absolute https:// URL, got {url!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(f"{key} must use https:// (http:// is allowed only for localhost), got {url!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{key} must not have a query or fragment, got {url!r}")
    return url


def _algorithms(key: str, value: Any) -> tuple[str, ...]:
    names = _words(key, value)
    for name in names:
        if name not in ASYMMETRIC_ALGORITHMS + HMAC_ALGORITHMS:
            raise ConfigError(
                f"{key} lists {name!r}; allowed: {', '.join(ASYMMETRIC_ALGORITHMS + HMAC_ALGORITHMS)}"
            )
    return names


def _asymmetric_algorithms(key: str, value: Any) -> tuple[str, ...]:
    names = _algorithms(key, value)
    if any(name in HMAC_ALGORITHMS for name in names):
        raise ConfigError(f"{key} must list asymmetric algorithms only: access tokens are never HMAC-signed")
    return names


def _dpop_algorithm(key: str, value: Any) -> str:
    return _choice(key, value, DPOP_PROOF_ALGORITHMS)


def read_sdk_file(path: Path) -> dict[str, Any]:
    """Settings from an Okta client SDK ``okta.json`` or ``okta.ini`` file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"OKTA_CLIENT_CONFIG: cannot read {path}: {exc.strerror}") from None
    if path.suffix == ".ini":
        parser = configparser.ConfigParser()
        try:
            parser.read_string(text)
        except configparser.Error as exc:
            raise ConfigError(f"OKTA_CLIENT_CONFIG: {path} is not a valid INI file: {exc}") from None
        section = parser["okta"] if parser.has_section("okta") else parser[parser.sections()[0]] if parser.sections() else {}
        data: Any = dict(section)
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"OKTA_CLIENT_CONFIG: {path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"OKTA_CLIENT_CONFIG: {path} must hold a JSON object")
    return {SDK_FILE_KEYS[k]: v for k, v in data.items() if k in SDK_FILE_KEYS}


def empty_setting(key: str) -> ConfigError:
    return ConfigError(f"{key} is set but empty: give it a value, or remove it to use the default")


def _sdk_file_settings(lookup: Callable[[str], Any]) -> dict[str, Any]:
    configured = lookup("OKTA_CLIENT_CONFIG")
    if isinstance(configured, str) and not configured.strip():
        raise empty_setting("OKTA_CLIENT_CONFIG")
    if configured:
        if not isinstance(configured, (str, os.PathLike)):
            raise ConfigError(f"OKTA_CLIENT_CONFIG must be the path of an okta.json or okta.ini file, "
                              f"got {configured!r}")
        return read_sdk_file(Path(_without_nul("OKTA_CLIENT_CONFIG", configured)))
    for name in ("okta.json", "okta.ini"):
        candidate = Path.cwd() / name
        if candidate.is_file():
            return read_sdk_file(candidate)
    return {}


def prefixed(key: str, prefix: str) -> str:
    """``OKTA_X`` as the registration with settings ``prefix`` names it (``STAFF_X``)."""
    return prefix + key[len(DEFAULT_PREFIX):] if key.startswith(DEFAULT_PREFIX) else key


def checked_registration(name: str, prefix: str | None) -> str:
    """The settings prefix of registration ``name``: ``prefix`` if given, else ``NAME_``."""
    if not isinstance(name, str) or not REGISTRATION_NAME.fullmatch(name):
        raise ConfigError(f"OktaClient(name=...) must be a letter then letters, digits or '_' (at most 40), "
                          f"got {name!r}")
    prefix = f"{name.upper()}_" if prefix is None else prefix
    if not isinstance(prefix, str) or not SETTINGS_PREFIX.fullmatch(prefix):
        raise ConfigError(f"config_prefix must be upper-case letters, digits and '_', ending with '_' "
                          f"(like 'STAFF_'), got {prefix!r}")
    return prefix


def naming_settings(text: str, prefix: str) -> str:
    """``text`` (a message) naming the settings of the registration with ``prefix``: ``OKTA_ISSUER``
    becomes ``STAFF_ISSUER``."""
    return text if prefix == DEFAULT_PREFIX else re.sub(r"\bOKTA_(?=[A-Z])", prefix, text)


@contextmanager
def errors_naming(prefix: str) -> Iterator[None]:
    """ConfigErrors raised inside name a registration's real settings (``STAFF_ISSUER``, not ``OKTA_ISSUER``)."""
    try:
        yield
    except ConfigError as error:
        error.description = naming_settings(error.description, prefix)
        error.args = (error.description,)
        raise


def settings_lookup(app_config: Mapping[str, Any], environ: Mapping[str, str],
                    prefix: str = DEFAULT_PREFIX) -> Callable[[str], Any]:
    """Look a key up in the Flask config, then the environment, then the SDK file.

    Keys are asked for by their ``OKTA_*`` names and read under ``prefix``; a
    registration with another prefix reads an SDK file only when its own
    ``*_CLIENT_CONFIG`` names one (``okta.json`` in the working directory is the
    default registration's).

    A key set to an empty string is a :class:`ConfigError`, not an absent key: an
    empty ``OKTA_CLIENT_SECRET`` must not quietly make a public client, nor an empty
    ``OKTA_ISSUER`` start a demo. Only keys whose empty value means something may be empty.
    """

    def first(key: str) -> Any:
        key = prefixed(key, prefix)
        if app_config.get(key) is not None:
            return app_config[key]
        return environ.get(key)

    if prefix == DEFAULT_PREFIX or first("OKTA_CLIENT_CONFIG"):
        file_settings = _sdk_file_settings(first)
    else:
        file_settings = {}

    def lookup(key: str) -> Any:
        value = first(key)
        value = file_settings.get(key) if value is None else value
        if isinstance(value, str) and not value.strip() and key not in EMPTY_ALLOWED:
            raise empty_setting(key)
        return value

    return lookup


def _single_word(key: str, value: Any) -> str:
    """A value that never holds whitespace (a client id, an audience): a space means a paste went wrong."""
    text = _text(key, value)
    if any(char.isspace() or not char.isprintable() for char in text):
        raise ConfigError(f"{key} must not contain spaces or control characters, got {text!r}: "
                          "copy it again from the provider")
    return text


def _without_nul(key: str, value: Any) -> Any:
    """A path, URL or key given as text or bytes: a NUL character, which no path or key holds, is refused
    here rather than failing where the value is first used."""
    if isinstance(value, (str, bytes)) and ("\0" in value if isinstance(value, str) else b"\0" in value):
        raise ConfigError(f"{key} contains a NUL character: copy it again")
    return value


def _issuer_url(key: str, value: Any) -> str:
    """An issuer as discovery names it: no whitespace, no endpoint path pasted after it, and
    for Okta no trailing slash and not the admin console's ``-admin`` host."""
    issuer = _url(key, _single_word(key, value))
    host = urlsplit(issuer).hostname or ""
    endpoint_paths = ("/.well-known/", "/v1/") if is_okta_host(host) else ("/.well-known/",)
    for pasted in endpoint_paths:
        if pasted in urlsplit(issuer).path + "/":
            base = issuer[:issuer.index(pasted)]
            raise ConfigError(f"{key} is the issuer itself, not one of its endpoints: use {base!r}, not {issuer!r}")
    if not is_okta_host(host):
        return issuer
    if host.split(".")[0].endswith("-admin"):
        fixed = issuer.replace("-admin.", ".", 1)
        raise ConfigError(f"{key} names the Okta admin console's host: use {fixed!r} (without '-admin')")
    if issuer.endswith("/"):
        raise ConfigError(f"{key} must not end with '/': use {issuer.rstrip('/')!r} "
                          "(it must match the issuer in the provider's discovery document exactly)")
    return issuer


def _issuer(get: Callable[[str], Any]) -> str:
    if get("OKTA_ISSUER"):
        return _issuer_url("OKTA_ISSUER", get("OKTA_ISSUER"))
    domain = get("OKTA_DOMAIN")
    if not domain:
        raise ConfigError(
            "OKTA_ISSUER is not set: set it (e.g. https://dev-123.okta.com/oauth2/default) "
            "or set OKTA_DOMAIN (and OKTA_AUTHORIZATION_SERVER_ID, default 'default')"
        )
    domain = _text("OKTA_DOMAIN", domain).removesuffix("/")
    if "://" not in domain:
        domain = f"https://{domain}"
    server_id = get("OKTA_AUTHORIZATION_SERVER_ID")
    server_id = "default" if server_id is None else str(server_id).strip()
    # An empty server id (or "org") selects Okta's org authorization server.
    issuer = domain if server_id in ("", "org") else f"{domain}/oauth2/{server_id}"
    return _issuer_url("OKTA_DOMAIN", issuer)


def _client_auth_method(get: Callable[[str], Any], secret: str | None) -> str:
    method = get("OKTA_CLIENT_AUTH_METHOD")
    if method is None:
        if get("OKTA_PRIVATE_KEY"):
            return "private_key_jwt"
        return "client_secret_basic" if secret else "none"
    method = _choice("OKTA_CLIENT_AUTH_METHOD", method, CLIENT_AUTH_METHODS)
    if method.startswith("client_secret") and not secret:
        raise ConfigError(f"OKTA_CLIENT_AUTH_METHOD is {method} but OKTA_CLIENT_SECRET is not set")
    if method == "private_key_jwt" and not get("OKTA_PRIVATE_KEY"):
        raise ConfigError(
            "OKTA_CLIENT_AUTH_METHOD is private_key_jwt but OKTA_PRIVATE_KEY is not set: "
            "point it at a PEM file or give a private JWK (see `flask okta keygen`)"
        )
    return method


def _max_age(key: str, value: Any) -> int:
    seconds = _int(key, value)
    if seconds >= 10**MAX_AGE_DIGITS:
        raise ConfigError(f"{key} must have at most {MAX_AGE_DIGITS} digits, got {seconds}")
    return seconds


def _acr_values(key: str, value: Any) -> str:
    text = _text(key, value)
    if not is_ascii_words(text):
        raise ConfigError(f"{key} must be space-separated ASCII words (at most {MAX_TEXT_LENGTH} characters), got {text!r}")
    return text
def _cookie_name(key: str, value: Any) -> str:
    name = _text(key, value)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ConfigError(f"{key} must be letters, digits, '_' and '-' only, got {name!r}")
    return name


def _param_names(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)) and not value:
        return ()
    names = _words(key, value)
    for name in names:
        if not is_param_name(name):
            raise ConfigError(f"{key} lists {name!r}: only lower-case parameter names, and none that the "
                              "extension sets itself (state, nonce, redirect_uri, PKCE…)")
    return names


def _relative_path(key: str, value: Any) -> str:
    path = _text(key, value)
    if safe_next_url(path) != path:
        raise ConfigError(f"{key} must be a path on this site starting with '/' (no '//', backslash or "
                          f"control characters), got {path!r}")
    return path


def _url_prefix(key: str, value: Any) -> str:
    """``""`` or a path on this site that does not end with ``/``."""
    if value == "":
        return ""
    prefix = _relative_path(key, value)
    if prefix.endswith("/"):
        raise ConfigError(f"{key} must start with '/' and not end with '/', got {prefix!r}")
    return prefix


def _client_text(key: str, value: Any) -> str:
    """A client id or secret: printable ASCII (RFC 6749 Appendix A: VSCHAR)."""
    text = _text(key, value)
    if not all(" " <= ch <= "~" for ch in text):
        raise ConfigError(f"{key} must be printable ASCII; check it was copied whole and nothing else with it")
    return text


def _scopes(key: str, value: Any) -> tuple[str, ...]:
    scopes = _words(key, value)
    for scope in scopes:
        if not SCOPE_TOKEN.fullmatch(scope):
            raise ConfigError(f"{key} lists {scope!r}, which is not a valid scope (RFC 6749 §3.3: printable "
                              "ASCII without quotes or backslashes)")
    return scopes


def _session_endpoint_tokens(key: str, value: Any) -> dict[str, SessionEndpointToken]:
    """``{"NAME": "access_token" | {"audience": ..., "scope": ...}}``, as a mapping or its JSON text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ConfigError(f"{key} must be a JSON object, got {value!r}") from None
    if not isinstance(value, Mapping):
        raise ConfigError(f"{key} must map token names to \"access_token\" or {{\"audience\": ...}}")
    tokens = {}
    for name, spec in value.items():
        if not isinstance(name, str) or not TOKEN_NAME.fullmatch(name):
            raise ConfigError(f"{key}: token names are 1-64 letters, digits, '_', '.' or '-'; got {name!r}")
        if spec == "access_token":
            tokens[name] = SessionEndpointToken(name)
        elif isinstance(spec, Mapping) and set(spec) <= {"audience", "scope"} and "audience" in spec:
            scope = spec.get("scope")
            tokens[name] = SessionEndpointToken(name, _text(f"{key}[{name}].audience", spec["audience"]),
                                                None if scope is None else _text(f"{key}[{name}].scope", scope))
        else:
            raise ConfigError(f"{key}[{name}] must be \"access_token\" (the user's own) or "
                              f"{{\"audience\": ..., \"scope\": ...}} (a token exchanged for that audience)")
    return tokens


def _optional(get: Callable[[str], Any], key: str, parse: Callable[[str, Any], Any]) -> Any:
    value = get(key)
    return None if value is None else parse(key, value)


def load_config(app_config: Mapping[str, Any], environ: Mapping[str, str] | None = None, *,
                name: str = "okta", prefix: str = DEFAULT_PREFIX) -> OktaConfig:
    """Read and validate every ``OKTA_*`` setting (named ``prefix`` + the rest, for registration ``name``).

    Errors name the settings as the registration reads them.
    """
    with errors_naming(prefix):
        return _load_config(settings_lookup(app_config, os.environ if environ is None else environ, prefix),
                            name, prefix)


def _load_config(get: Callable[[str], Any], name: str, prefix: str) -> OktaConfig:

    def get_or(key: str, default: Any) -> Any:
        value = get(key)
        return default if value is None else value

    issuer = _issuer(get)
    if not get("OKTA_CLIENT_ID"):
        raise ConfigError(
            "OKTA_CLIENT_ID is not set: copy the Client ID of your Okta app integration into "
            "app.config['OKTA_CLIENT_ID'] or the OKTA_CLIENT_ID environment variable"
        )
    secret = _optional(get, "OKTA_CLIENT_SECRET", _client_text)
    scopes = _scopes("OKTA_SCOPES", get_or("OKTA_SCOPES", "openid profile email"))
    if "openid" not in scopes:
        raise ConfigError("OKTA_SCOPES must include 'openid' for sign-in")
    url_prefix = _url_prefix("OKTA_URL_PREFIX", get_or("OKTA_URL_PREFIX", "" if name == "okta" else f"/{name}"))
    prompt = _optional(get, "OKTA_PROMPT", _text)
    if prompt and not is_prompt(prompt):
        raise ConfigError(f"OKTA_PROMPT must be none, or any of login, consent and select_account; got {prompt!r}")
    config = OktaConfig(
        issuer=issuer,
        client_id=_client_text("OKTA_CLIENT_ID", _single_word("OKTA_CLIENT_ID", get("OKTA_CLIENT_ID"))),
        client_secret=secret,
        client_auth_method=_client_auth_method(get, secret),
        redirect_uri=_optional(get, "OKTA_REDIRECT_URI", _url),
        scopes=scopes,
        post_logout_redirect_uri=_optional(get, "OKTA_POST_LOGOUT_REDIRECT_URI", _url),
        clock_skew=_int("OKTA_CLOCK_SKEW", get_or("OKTA_CLOCK_SKEW", 60)),
        url_prefix=url_prefix,
        default_redirect=_optional(get, "OKTA_DEFAULT_REDIRECT", _relative_path),
        prompt=prompt,
        max_age=_optional(get, "OKTA_MAX_AGE", _max_age),
        acr_values=_optional(get, "OKTA_ACR_VALUES", _acr_values),
        id_token_algorithms=_optional(get, "OKTA_ID_TOKEN_ALGORITHMS", _algorithms),
        access_token_algorithms=_optional(get, "OKTA_ACCESS_TOKEN_ALGORITHMS", _asymmetric_algorithms),
        audience=_single_word("OKTA_AUDIENCE", get_or("OKTA_AUDIENCE", "api://default")),
        token_validation=_choice(
            "OKTA_TOKEN_VALIDATION", get_or("OKTA_TOKEN_VALIDATION", "auto"), TOKEN_VALIDATION_MODES
        ),
        use_userinfo=_bool("OKTA_USE_USERINFO", get_or("OKTA_USE_USERINFO", False)),
        http_timeout=_float("OKTA_HTTP_TIMEOUT", get_or("OKTA_HTTP_TIMEOUT", 5)),
        http_retries=_int("OKTA_HTTP_RETRIES", get_or("OKTA_HTTP_RETRIES", 2)),
        refresh_timeout=_float("OKTA_REFRESH_TIMEOUT", get_or("OKTA_REFRESH_TIMEOUT", 30)),
        metadata_ttl=_int("OKTA_METADATA_TTL", get_or("OKTA_METADATA_TTL", 3600), minimum=1),
        jwks_ttl=_int("OKTA_JWKS_TTL", get_or("OKTA_JWKS_TTL", 3600), minimum=1),
        jwks_refresh_cooldown=_float("OKTA_JWKS_REFRESH_COOLDOWN", get_or("OKTA_JWKS_REFRESH_COOLDOWN", 60)),
        login_timeout=_int("OKTA_LOGIN_TIMEOUT", get_or("OKTA_LOGIN_TIMEOUT", 600), minimum=1),
        max_pending_logins=_int("OKTA_MAX_PENDING_LOGINS", get_or("OKTA_MAX_PENDING_LOGINS", 5), minimum=1),
        verified_token_cache_size=_int(
            "OKTA_VERIFIED_TOKEN_CACHE_SIZE", get_or("OKTA_VERIFIED_TOKEN_CACHE_SIZE", 10_000)
        ),
        introspection_refusal_ttl=_int(
            "OKTA_INTROSPECTION_REFUSAL_TTL", get_or("OKTA_INTROSPECTION_REFUSAL_TTL", 300)
        ),
        introspection_require_token_type=_bool("OKTA_INTROSPECTION_REQUIRE_TOKEN_TYPE",
                                                get_or("OKTA_INTROSPECTION_REQUIRE_TOKEN_TYPE", True)),
        token_store=_without_nul("OKTA_TOKEN_STORE", get_or("OKTA_TOKEN_STORE", "session")),
        token_store_cache=_bool("OKTA_TOKEN_STORE_CACHE", get_or("OKTA_TOKEN_STORE_CACHE", True)),
        token_store_cache_size=_int("OKTA_TOKEN_STORE_CACHE_SIZE", get_or("OKTA_TOKEN_STORE_CACHE_SIZE", 5_000),
                                    minimum=1),
        refresh_leeway=_int("OKTA_REFRESH_LEEWAY", get_or("OKTA_REFRESH_LEEWAY", 60)),
        session_idle_timeout=_int("OKTA_SESSION_IDLE_TIMEOUT", get_or("OKTA_SESSION_IDLE_TIMEOUT", 8 * 3600), minimum=1),
        session_absolute_timeout=_int(
            "OKTA_SESSION_ABSOLUTE_TIMEOUT", get_or("OKTA_SESSION_ABSOLUTE_TIMEOUT", 24 * 3600), minimum=1
        ),
        private_key=_without_nul("OKTA_PRIVATE_KEY", get_or("OKTA_PRIVATE_KEY", None)),
        private_key_id=_optional(get, "OKTA_PRIVATE_KEY_ID", _text),
        use_par=_choice("OKTA_USE_PAR", get_or("OKTA_USE_PAR", "auto"), PAR_MODES),
        require_login=_bool("OKTA_REQUIRE_LOGIN", get_or("OKTA_REQUIRE_LOGIN", False)),
        silent_login=_bool("OKTA_SILENT_LOGIN", get_or("OKTA_SILENT_LOGIN", False)),
        login_query_params=_param_names("OKTA_LOGIN_QUERY_PARAMS",
                                        get_or("OKTA_LOGIN_QUERY_PARAMS", DEFAULT_QUERY_PARAMS)),
        backchannel_logout=_bool("OKTA_BACKCHANNEL_LOGOUT", get_or("OKTA_BACKCHANNEL_LOGOUT", False)),
        backchannel_logout_path=_relative_path(
            "OKTA_BACKCHANNEL_LOGOUT_PATH", get_or("OKTA_BACKCHANNEL_LOGOUT_PATH", "/backchannel-logout")
        ),
        logout_cache=_without_nul("OKTA_LOGOUT_CACHE", get_or("OKTA_LOGOUT_CACHE", None)),
        dpop=_bool("OKTA_DPOP", get_or("OKTA_DPOP", False)),
        dpop_key=get_or("OKTA_DPOP_KEY", None),
        dpop_algorithm=_optional(get, "OKTA_DPOP_ALGORITHM", _dpop_algorithm),
        dpop_proof_algorithms=_asymmetric_algorithms(
            "OKTA_DPOP_PROOF_ALGORITHMS", get_or("OKTA_DPOP_PROOF_ALGORITHMS", DPOP_PROOF_ALGORITHMS)
        ),
        dpop_proof_max_age=_int("OKTA_DPOP_PROOF_MAX_AGE", get_or("OKTA_DPOP_PROOF_MAX_AGE", 60), minimum=1),
        dpop_require_nonce=_bool("OKTA_DPOP_REQUIRE_NONCE", get_or("OKTA_DPOP_REQUIRE_NONCE", False)),
        session_cookie_name=_cookie_name("OKTA_SESSION_COOKIE_NAME", get_or("OKTA_SESSION_COOKIE_NAME",
                                                                             f"{name}_session")),
        session_endpoint=_optional(get, "OKTA_SESSION_ENDPOINT", _relative_path),
        session_endpoint_claims=_words(
            "OKTA_SESSION_ENDPOINT_CLAIMS", get_or("OKTA_SESSION_ENDPOINT_CLAIMS", DEFAULT_SESSION_ENDPOINT_CLAIMS)
        ),
        session_endpoint_tokens=_optional(get, "OKTA_SESSION_ENDPOINT_TOKENS", _session_endpoint_tokens) or {},
        settings_prefix=prefix,
    )
    if config.refresh_timeout < config.http_timeout:
        raise ConfigError(
            f"OKTA_REFRESH_TIMEOUT ({config.refresh_timeout:g}) must be at least OKTA_HTTP_TIMEOUT "
            f"({config.http_timeout:g}): a refresh keeps waiting after the request that started it gives up"
        )
    return config
