"""Sign-in options a request may set on ``/login``, checked strictly before they reach the provider.

``/login`` passes on the query parameters of an allowlist (``OKTA_LOGIN_QUERY_PARAMS``);
each comes from the query if given there, else from configuration. ``max_age``
must be ASCII digits, ``prompt`` words from OpenID Connect's list (``none``
alone), ``idp`` an identifier, ``ui_locales`` language tags, the rest bounded
printable text; an option given twice or failing its rule is a
:class:`~flask_okta_client.errors.LoginError` (a 400 page). The parameters that
make the request safe (``state``, ``nonce``, PKCE, ``redirect_uri``…) are the
extension's alone: no allowlist, route or hook may set them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import LoginError

if TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

    from ..config import OktaConfig

PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
#: Nine digits are about 31 years: more than any sensible max_age, small enough for any provider.
MAX_AGE_DIGITS = 9
MAX_TEXT_LENGTH = 256

#: Set by the extension on every authorization request, from its own state; nothing else may set them.
PROTECTED_PARAMS = frozenset({
    "response_type", "client_id", "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method",
    "request", "request_uri", "response_mode", "dpop_jkt", "registration",
    "client_secret", "client_assertion", "client_assertion_type",
})
#: What ``/login`` passes on unless ``OKTA_LOGIN_QUERY_PARAMS`` says otherwise.
DEFAULT_QUERY_PARAMS = ("prompt", "login_hint", "max_age", "acr_values", "idp", "ui_locales")

_MAX_AGE = re.compile(rf"[0-9]{{1,{MAX_AGE_DIGITS}}}")
_PARAM_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_IDENTIFIER = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_LANGUAGE_TAGS = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*(?: [A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)*")
#: Words of printable ASCII separated by single spaces (acr_values).
_ASCII_WORDS = re.compile(r"[\x21-\x7e]+(?: [\x21-\x7e]+)*")


def is_prompt(value: str) -> bool:
    """Space-separated words from :data:`PROMPT_VALUES`, each once; ``none`` only alone."""
    words = value.split(" ")
    return (
        set(words) <= PROMPT_VALUES
        and len(set(words)) == len(words)
        and ("none" not in words or len(words) == 1)
    )


def is_max_age(value: str) -> bool:
    return _MAX_AGE.fullmatch(value) is not None


def is_hint(value: str) -> bool:
    """Bounded text without control characters (an email, a phone number, a username), and
    without U+FFFD, which stands for bytes that were not UTF-8."""
    return len(value) <= MAX_TEXT_LENGTH and value.isprintable() and "\ufffd" not in value


def is_ascii_words(value: str) -> bool:
    return len(value) <= MAX_TEXT_LENGTH and _ASCII_WORDS.fullmatch(value) is not None


def is_identifier(value: str) -> bool:
    """An identity provider id such as Okta's ``0oa1b2c3d4``."""
    return _IDENTIFIER.fullmatch(value) is not None


def is_language_tags(value: str) -> bool:
    """Space-separated BCP 47 language tags (``ui_locales``, ``claims_locales``)."""
    return len(value) <= MAX_TEXT_LENGTH and _LANGUAGE_TAGS.fullmatch(value) is not None


def is_scope(value: str) -> bool:
    """Space-separated scopes, ``openid`` among them (a sign-in needs it)."""
    return is_ascii_words(value) and "openid" in value.split(" ")


def is_param_name(name: str) -> bool:
    """A lower-case parameter name that the extension does not set itself."""
    return _PARAM_NAME.fullmatch(name) is not None and name not in PROTECTED_PARAMS


#: The options ``/login`` accepts, each with its rule and what a user is told when it fails.
OPTION_RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "prompt": (is_prompt, "The prompt parameter must be none, or any of login, consent and select_account."),
    "max_age": (is_max_age, f"The max_age parameter must be a whole number of seconds (at most "
                            f"{MAX_AGE_DIGITS} digits)."),
    "login_hint": (is_hint, f"The login_hint parameter must be printable text of at most {MAX_TEXT_LENGTH} "
                            "characters."),
    "acr_values": (is_ascii_words, "The acr_values parameter must be space-separated ASCII words of at most "
                                   f"{MAX_TEXT_LENGTH} characters."),
    "idp": (is_identifier, "The idp parameter must be an identity provider id (letters, digits, '.', '_', ':', "
                           "'-'; at most 128)."),
    "ui_locales": (is_language_tags, "The ui_locales parameter must be space-separated language tags."),
    "claims_locales": (is_language_tags, "The claims_locales parameter must be space-separated language tags."),
    "scope": (is_scope, "The scope parameter must be space-separated ASCII words including openid."),
}


def rule_for(name: str) -> tuple[Callable[[str], bool], str]:
    """The rule of an option; a name without one of its own must be bounded printable text."""
    return OPTION_RULES.get(name) or (
        is_hint, f"The {name} parameter must be printable text of at most {MAX_TEXT_LENGTH} characters.")


def configured_defaults(config: OktaConfig) -> dict[str, str]:
    """The options configuration sends with every sign-in."""
    defaults = {"prompt": config.prompt, "max_age": config.max_age, "acr_values": config.acr_values}
    return {name: str(value) for name, value in defaults.items() if value is not None}


def single(args: MultiDict[str, str], name: str) -> str | None:
    """The one value of query parameter ``name`` (``None`` if absent); :class:`LoginError` if repeated."""
    values = args.getlist(name)
    if len(values) > 1:
        raise LoginError(f"The {name} parameter must be given only once.")
    return values[0] if values else None


def login_options(args: MultiDict[str, str], config: OktaConfig) -> dict[str, str]:
    """The options for one authorization request: each allowlisted one from ``args`` if given
    (and not empty), else from configuration. Raises :class:`LoginError` for a repeated or
    malformed option; parameters outside the allowlist are ignored."""
    options = configured_defaults(config)
    for name in config.login_query_params:
        value = single(args, name)
        if value:
            options[name] = value
    for name, value in options.items():
        valid, message = rule_for(name)
        if not valid(value):
            raise LoginError(message)
    return options


def checked_params(params: Mapping[str, Any], source: str) -> dict[str, str]:
    """Parameters set in code (a route's ``authorization_params``, a hook's answer), held to the
    same rules as the query's. Raises ``ValueError`` naming ``source`` for a protected name or a
    value that breaks its rule."""
    checked = {}
    for name, value in params.items():
        if not isinstance(name, str) or not is_param_name(name):
            raise ValueError(f"{source}: {name!r} is not a parameter a sign-in may set "
                             f"(the extension sets {', '.join(sorted(PROTECTED_PARAMS))} itself)")
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(text, str) or not rule_for(name)[0](text):
            raise ValueError(f"{source}: {rule_for(name)[1]} Got {value!r}.")
        checked[name] = text
    return checked
