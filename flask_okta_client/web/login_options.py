"""Sign-in options a request may set on ``/login``, checked strictly before they reach the provider.

Each option comes from the query if given there, else from configuration.
``max_age`` must be ASCII digits, ``prompt`` words from OpenID Connect's list
(``none`` alone), the rest bounded printable text; an option given twice or
failing its rule is a :class:`~flask_okta_client.errors.LoginError` (a 400 page).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import LoginError

if TYPE_CHECKING:
    from werkzeug.datastructures import MultiDict

    from ..config import OktaConfig

PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
#: Nine digits are about 31 years: more than any sensible max_age, small enough for any provider.
MAX_AGE_DIGITS = 9
MAX_TEXT_LENGTH = 256

_MAX_AGE = re.compile(rf"[0-9]{{1,{MAX_AGE_DIGITS}}}")
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


#: The options ``/login`` accepts, each with its rule and what a user is told when it fails.
OPTION_RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "prompt": (is_prompt, "The prompt parameter must be none, or any of login, consent and select_account."),
    "max_age": (is_max_age, f"The max_age parameter must be a whole number of seconds (at most "
                            f"{MAX_AGE_DIGITS} digits)."),
    "login_hint": (is_hint, f"The login_hint parameter must be printable text of at most {MAX_TEXT_LENGTH} "
                            "characters."),
    "acr_values": (is_ascii_words, "The acr_values parameter must be space-separated ASCII words of at most "
                                   f"{MAX_TEXT_LENGTH} characters."),
}


def configured_defaults(config: OktaConfig) -> dict[str, str]:
    """The options configuration sends with every sign-in."""
    defaults = {"prompt": config.prompt, "max_age": config.max_age, "acr_values": config.acr_values}
    return {name: str(value) for name, value in defaults.items() if value is not None}


def login_options(args: MultiDict[str, str], config: OktaConfig) -> dict[str, str]:
    """The options for one authorization request: each from ``args`` if given (and not empty),
    else from configuration. Raises :class:`LoginError` for a repeated or malformed option."""
    options = configured_defaults(config)
    for name, (valid, message) in OPTION_RULES.items():
        values = args.getlist(name)
        if len(values) > 1:
            raise LoginError(f"The {name} parameter must be given only once.")
        if values and values[0] != "":
            options[name] = values[0]
        if name in options and not valid(options[name]):
            raise LoginError(message)
    return options
