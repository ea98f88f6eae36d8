"""What ``flask okta check`` looks at: settings, the URLs to register, discovery, keys, and
two harmless probes (a token request that can only fail, a sign-in request never completed)."""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import click
from flask import Flask, url_for

from .config import OktaConfig
from .errors import OktaError, ProviderUnavailable
from .extension import OktaState
from .protocol.client import GrantError
from .protocol.client_auth import load_private_key, signing_algorithm
from .protocol.discovery import REQUIRED_ENDPOINTS
from .sessions.server_store import REDIS_SCHEMES
from .sessions.transactions import begin_login

#: Where ``flask run`` serves by default: the origin redirect URIs are computed for without SERVER_NAME.
FLASK_RUN_DEFAULTS = ("127.0.0.1", "5000")


def failure_reason(exc: OktaError) -> str:
    """Why a call failed: the reason (refused, timed out, answered 503…) when the provider was unavailable."""
    return exc.reason if isinstance(exc, ProviderUnavailable) else exc.description


def without_password(url: str) -> str:
    """``url`` with the password of its user part and the values of its query hidden."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rpartition('@')[2]}"
    query = "&".join(f"{key}=***" for key in parse_qs(parts.query, keep_blank_values=True))
    return parts._replace(netloc=netloc, query=query).geturl()


def store_kind(value: Any) -> str:
    """What kind of token store ``OKTA_TOKEN_STORE`` names, without secrets."""
    if value == "session":
        return "session (sealed in the sign-in cookie)"
    if isinstance(value, str) and value.startswith(REDIS_SCHEMES):
        return f"Redis at {without_password(value)}"
    if isinstance(value, (str, os.PathLike)):
        return f"directory {os.fspath(value)}"
    return f"cache object {type(value).__name__}"


@contextmanager
def expected_refusal() -> Iterator[None]:
    """Keep the library's warning about a refused call out of the report: the refusal is the point."""
    logger = logging.getLogger("flask_okta_client")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclasses.dataclass(frozen=True)
class SiteUrls:
    """The redirect URIs the site sends; ``computed_for`` is the origin they were built for when
    neither they nor ``SERVER_NAME`` are configured (the site then uses each request's host)."""

    sign_in: str
    sign_out: str
    computed_for: str | None


def site_urls(app: Flask, state: OktaState) -> SiteUrls:
    config: OktaConfig = state.config
    origin = None
    if not app.config.get("SERVER_NAME") and not (config.redirect_uri and config.post_logout_redirect_uri):
        host = os.environ.get("FLASK_RUN_HOST", FLASK_RUN_DEFAULTS[0])
        port = os.environ.get("FLASK_RUN_PORT", FLASK_RUN_DEFAULTS[1])
        origin = f"{app.config.get('PREFERRED_URL_SCHEME', 'http')}://{host}:{port}"
    with app.test_request_context(base_url=origin):
        return SiteUrls(state.redirect_uri(), state.post_logout_redirect_uri(), origin)


def effective_settings(config: OktaConfig, urls: SiteUrls) -> dict[str, Any]:
    """The settings: secret ones only as set or not, the token store by kind, redirect URIs as sent."""
    settings = {}
    for setting in dataclasses.fields(config):
        value = getattr(config, setting.name)
        settings[setting.name] = value if setting.repr else ("(set)" if value else "(not set)")
    settings["token_store"] = store_kind(config.token_store)
    settings["redirect_uri"] = config.redirect_uri or f"{urls.sign_in} (computed)"
    settings["post_logout_redirect_uri"] = config.post_logout_redirect_uri or f"{urls.sign_out} (computed)"
    return settings


class Report:
    """What ``check`` found: problems fail the check, warnings do not."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def check_config(self, config: OktaConfig) -> None:
        if config.issuer.startswith("http://"):
            self.warnings.append("the issuer uses http://: fine on localhost, never in production")
        if config.client_auth_method == "private_key_jwt":
            try:
                key = load_private_key(config.private_key, config.private_key_id)
            except OktaError as exc:
                self.problems.append(exc.description)
            else:
                click.echo(f"Client assertions: signed with kid={key.kid} alg={signing_algorithm(key)}")

    def check_redirect_paths(self, app: Flask, state: OktaState) -> None:
        """A configured redirect URI must reach this site's own route (a mount point before it is fine)."""
        config: OktaConfig = state.config
        with app.test_request_context():
            expected = {"OKTA_REDIRECT_URI": (config.redirect_uri, url_for(state.endpoint("callback"))),
                        "OKTA_POST_LOGOUT_REDIRECT_URI": (config.post_logout_redirect_uri,
                                                          url_for(state.endpoint("logout_callback")))}
        for key, (configured, path) in expected.items():
            if configured and not urlsplit(configured).path.endswith(path):
                self.problems.append(f"{key} is {configured!r}, but this site takes the provider's answer at "
                                     f"{path!r}: make the URL end with {path!r} (and register that one)")

    def check_metadata(self, config: OktaConfig, document: dict[str, Any]) -> bool:
        """Report what in the document does not fit the settings; whether it can serve a sign-in
        (this issuer's, naming the endpoints one needs)."""
        problems = len(self.problems)
        named = document.get("issuer")
        if named != config.issuer:
            slash = isinstance(named, str) and named.rstrip("/") == config.issuer.rstrip("/")
            self.problems.append(f"issuer mismatch: discovery names {named!r}, OKTA_ISSUER is {config.issuer!r}: "
                                 f"set OKTA_ISSUER to exactly {named!r}"
                                 + (" (the trailing slash differs)" if slash else ""))
        for name in REQUIRED_ENDPOINTS:
            if not isinstance(document.get(name), str):
                self.problems.append(f"discovery has no {name}")
        usable = len(self.problems) == problems
        has_par = isinstance(document.get("pushed_authorization_request_endpoint"), str)
        if config.use_par == "always" and not has_par:
            self.problems.append("OKTA_USE_PAR is 'always' but the provider has no pushed authorization endpoint: "
                                 "set OKTA_USE_PAR to 'auto'")
        if config.use_par == "never" and document.get("require_pushed_authorization_requests") is True:
            self.problems.append("the provider requires pushed authorization requests but OKTA_USE_PAR is 'never': "
                                 "set OKTA_USE_PAR to 'auto'")
        methods = document.get("token_endpoint_auth_methods_supported")
        if isinstance(methods, list) and config.client_auth_method not in methods:
            self.problems.append(f"the provider does not support OKTA_CLIENT_AUTH_METHOD={config.client_auth_method}: "
                                 f"use one of {', '.join(map(str, methods))}")
        if config.token_validation == "introspect" and not document.get("introspection_endpoint"):
            self.problems.append("OKTA_TOKEN_VALIDATION is 'introspect' but the provider has no introspection "
                                 "endpoint: set it to 'local' (JWT access tokens) or 'auto'")
        if config.use_userinfo and not document.get("userinfo_endpoint"):
            self.problems.append("OKTA_USE_USERINFO is on but the provider has no userinfo endpoint: turn it off")
        return usable

    def check_jwks(self, jwks: dict[str, Any]) -> None:
        keys = [k for k in jwks.get("keys", []) if isinstance(k, dict) and k.get("use", "sig") == "sig"]
        click.echo(f"Signing keys: {len(keys)}")
        for key in keys:
            click.echo(f"  kid={key.get('kid', '(none)')} alg={key.get('alg', '(unspecified)')} kty={key.get('kty')}")
        if not keys:
            self.problems.append("the JWKS has no signing keys")
        elif any("kid" not in key for key in keys):
            self.warnings.append("some signing keys have no kid")

    def check_client_authentication(self, state: OktaState, redirect_uri: str) -> None:
        """Redeem a made-up code: ``invalid_grant`` means the provider accepted the client's
        credentials, ``invalid_client`` that it did not. Nothing can be granted."""
        try:
            with expected_refusal():
                state.client.token_request("credentials check", "authorization_code",
                                           code=secrets.token_urlsafe(32), redirect_uri=redirect_uri,
                                           code_verifier=secrets.token_urlsafe(48))
        except GrantError as exc:
            if exc.error == "invalid_grant":
                click.echo("Client authentication: accepted (a made-up code was refused with invalid_grant)")
            else:
                self.warnings.append(f"client authentication could not be checked: the provider answered {exc.error}")
        except OktaError as exc:
            self.problems.append(self._credentials_problem(state.config, exc))
        else:
            self.warnings.append("client authentication could not be checked: a made-up code was accepted")

    @staticmethod
    def _credentials_problem(config: OktaConfig, exc: OktaError) -> str:
        if exc.error == "invalid_client":
            credential = {"private_key_jwt": "OKTA_PRIVATE_KEY (and the public key registered at the provider)",
                          "none": "whether the app integration is a public client (no secret)"}.get(
                config.client_auth_method, "OKTA_CLIENT_SECRET")
            return ("the provider refused this client's credentials (invalid_client): "
                    f"check OKTA_CLIENT_ID and {credential}")
        if exc.error == "unauthorized_client":
            return ("the app integration may not use the authorization code grant (unauthorized_client): "
                    "allow it in the app integration's grant types")
        return f"client authentication could not be checked: {failure_reason(exc)}"

    def check_sign_in_request(self, state: OktaState, document: dict[str, Any], urls: SiteUrls) -> None:
        """Start a sign-in that is never finished: a provider refuses an unregistered redirect URI
        (or client id) with an error page of its own instead of showing its sign-in page."""
        endpoint = document.get("authorization_endpoint")
        if not isinstance(endpoint, str) or document.get("require_pushed_authorization_requests") is True:
            return
        config: OktaConfig = state.config
        transaction = begin_login({}, redirect_uri=urls.sign_in, next_url="/", lifetime=config.login_timeout,
                                  max_pending=1)  # kept nowhere: the sign-in is never finished
        params = state.authorization_params(transaction, {})
        try:
            response = state.http.session.get(endpoint, params=params, allow_redirects=False,
                                              timeout=config.http_timeout)
        except OktaError as exc:
            self.warnings.append(f"the sign-in request could not be checked: {failure_reason(exc)}")
            return
        location = response.headers.get("Location", "")
        if response.is_redirect and location.startswith(urls.sign_in):
            answer = parse_qs(urlsplit(location).query)
            if "error" in answer:
                self.problems.append(f"the provider refused a sign-in request with {answer['error'][0]}"
                                     f" ({answer.get('error_description', [''])[0]}): check OKTA_SCOPES and the "
                                     "app integration's settings")
                return
        if response.status_code < 400:
            click.echo(f"Sign-in request: accepted for redirect_uri {urls.sign_in}")
            return
        problem = (f"the provider refused a sign-in request for redirect_uri {urls.sign_in} "
                   f"(HTTP {response.status_code}): register it as a sign-in redirect URI of the app integration "
                   f"with client id {config.client_id}")
        if urls.computed_for and not config.redirect_uri:  # a guess at the site's address
            self.warnings.append(f"{problem}, or set OKTA_REDIRECT_URI to the registered one")
        else:
            self.problems.append(problem)
