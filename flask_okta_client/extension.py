"""``OktaClient``: binds configuration, provider access and routes to Flask apps."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import urlencode

from flask import Flask, current_app, url_for

from .client import ProviderClient
from .config import OktaConfig, load_config
from .discovery import MetadataCache
from .errors import LoginError, OktaError, ProviderError, TokenValidationError
from .http import HttpClient
from .jwks import JwksCache
from .responses import error_response
from .storage import SessionTokenStore, SignedInUser, TokenStore
from .transactions import LoginTransaction, begin_login
from .user import User, current_user, forget_user
from .verifier import TokenVerifier
from .views import CSRF_SESSION_KEY, create_blueprint, csrf_token

log = logging.getLogger("flask_okta_client")

PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
MAX_HINT_LENGTH = 256


class OktaState:
    """Everything one Flask app needs to talk to its provider; in ``app.extensions["okta"]``."""

    def __init__(self, config: OktaConfig, store: TokenStore | None = None) -> None:
        self.config = config
        self.http = HttpClient(config.http_timeout)
        self.metadata = MetadataCache(config.issuer, self.http, config.metadata_ttl)
        self.jwks = JwksCache(
            lambda: self.metadata.get()["jwks_uri"], self.http, config.jwks_ttl, config.jwks_refresh_cooldown
        )
        self.verifier = TokenVerifier(config, self.metadata, self.jwks)
        self.client = ProviderClient(config, self.metadata, self.http)
        self.store: TokenStore = store or SessionTokenStore()

    def redirect_uri(self) -> str:
        return self.config.redirect_uri or url_for("okta.callback", _external=True)

    def post_logout_redirect_uri(self) -> str:
        return self.config.post_logout_redirect_uri or url_for("okta.logout_callback", _external=True)

    def login_options(self, query: Mapping[str, str]) -> dict[str, str]:
        """``prompt``, ``login_hint``, ``max_age``, ``acr_values``: from the query, else configuration."""
        options = {
            "prompt": query.get("prompt") or self.config.prompt,
            "login_hint": query.get("login_hint"),
            "max_age": query.get("max_age") or self.config.max_age,
            "acr_values": query.get("acr_values") or self.config.acr_values,
        }
        options = {k: str(v) for k, v in options.items() if v not in (None, "")}
        if "prompt" in options and not set(options["prompt"].split()) <= PROMPT_VALUES:
            raise LoginError("The prompt parameter is not valid.")
        if "max_age" in options and not options["max_age"].isdigit():
            raise LoginError("The max_age parameter must be a whole number of seconds.")
        if any(len(options.get(k, "")) > MAX_HINT_LENGTH for k in ("login_hint", "acr_values")):
            raise LoginError("A sign-in parameter is too long.")
        return options

    def authorization_url(self, transaction: LoginTransaction, options: Mapping[str, str]) -> str:
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": transaction.redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": transaction.state,
            "nonce": transaction.nonce,
            "code_challenge": transaction.code_challenge,
            "code_challenge_method": "S256",
            **options,
        }
        endpoint = self.metadata.get()["authorization_endpoint"]
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

    def begin_login(self, session: MutableMapping[str, Any], *, next_url: str, options: Mapping[str, str]) -> str:
        """Remember a new transaction and return the provider URL to send the browser to."""
        self.metadata.get()  # fail before touching the session if the provider is down
        transaction = begin_login(
            session,
            redirect_uri=self.redirect_uri(),
            next_url=next_url,
            lifetime=self.config.login_timeout,
            max_pending=self.config.max_pending_logins,
            max_age=int(options["max_age"]) if "max_age" in options else None,
        )
        return self.authorization_url(transaction, options)

    def check_response_issuer(self, iss: str | None) -> None:
        """RFC 9207: a sent ``iss`` must be ours; a promised one must be sent."""
        if iss is None:
            if self.metadata.get().requires_iss_parameter:
                raise LoginError("The sign-in response did not name its issuer.", error="invalid_issuer")
        elif iss != self.config.issuer:
            log.warning("okta: authorization response from issuer %r, expected %r", iss, self.config.issuer)
            raise LoginError("The sign-in response came from another issuer.", error="invalid_issuer")

    def complete_login(self, session: MutableMapping[str, Any], transaction: LoginTransaction, code: str) -> User:
        """Exchange the code, verify the ID token, renew the session and store the sign-in."""
        token = self.client.exchange_code(code, transaction.code_verifier, transaction.redirect_uri)
        if not isinstance(token.get("id_token"), str):
            raise ProviderError("The sign-in service returned no ID token.")
        try:
            claims = self.verifier.verify_id_token(
                token["id_token"], nonce=transaction.nonce, access_token=token["access_token"],
                max_age=transaction.max_age,
            )
        except TokenValidationError as exc:
            log.warning("okta: ID token rejected: %s", exc.description)
            raise LoginError(f"The sign-in could not be verified: {exc.description}", error="invalid_id_token") from None
        if self.config.use_userinfo:
            claims = {**self.userinfo_claims(token["access_token"], claims["sub"]), **claims}
        self.renew_session(session)
        stored = SignedInUser.from_token(token, claims)
        self.store.save(session, stored)
        forget_user()
        return User(stored)

    def userinfo_claims(self, access_token: str, sub: str) -> dict[str, Any]:
        info = self.client.userinfo(access_token)
        if info.get("sub") != sub:
            log.warning("okta: UserInfo subject does not match the ID token's")
            raise LoginError("The sign-in service's user information does not match the sign-in.",
                             error="invalid_userinfo")
        return info

    def renew_session(self, session: MutableMapping[str, Any]) -> None:
        """Drop what the previous sign-in left and, for server-side sessions, take a new id."""
        self.store.clear(session)
        session.pop(CSRF_SESSION_KEY, None)
        regenerate = getattr(current_app.session_interface, "regenerate", None)
        if callable(regenerate):
            regenerate(session)

    def end_session(self, session: MutableMapping[str, Any]) -> str | None:
        """Forget the sign-in locally, revoke its tokens; the ID token for the provider's sign-out."""
        stored = self.store.load(session)
        self.store.clear(session)
        session.pop(CSRF_SESSION_KEY, None)
        forget_user()
        if stored is None:
            return None
        self.revoke_quietly(stored)
        return stored.id_token

    def revoke_quietly(self, stored: SignedInUser) -> None:
        """Sign-out must work while the provider is down: revocation failures are only logged."""
        tokens = [("refresh_token", stored.refresh_token), ("access_token", stored.access_token)]
        for hint, token in tokens:
            if token:
                try:
                    self.client.revoke(token, hint)
                except OktaError as exc:
                    log.warning("okta: could not revoke the %s at sign-out: %s", hint, exc.error)


def format_timestamp(value: float | None) -> str:
    """A Unix time as ``2026-11-23 16:05:00 UTC`` for templates."""
    if value is None:
        return "unknown"
    return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class OktaClient:
    """The Flask extension::

        okta = OktaClient(app)          # or: okta = OktaClient(); okta.init_app(app)

    It reads ``OKTA_*`` settings, registers the sign-in routes and the error
    pages, and makes ``current_user`` available in templates. One instance can
    serve several apps; each app keeps its own state in ``app.extensions["okta"]``.
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        config = load_config(app.config)
        app.extensions["okta"] = OktaState(config)
        app.register_blueprint(create_blueprint(config.url_prefix))
        app.register_error_handler(OktaError, error_response)
        app.context_processor(lambda: {"current_user": current_user, "okta_csrf_token": csrf_token})
        app.add_template_filter(format_timestamp, "okta_datetime")

    @property
    def state(self) -> OktaState:
        """The state of the current app."""
        return current_app.extensions["okta"]

    @property
    def config(self) -> OktaConfig:
        return self.state.config
