"""``OktaClient``: binds configuration, provider access and routes to Flask apps."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Collection, Mapping, MutableMapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, url_for
from werkzeug.exceptions import InternalServerError

from . import signals
from .config import (
    OktaConfig,
    checked_registration,
    errors_naming,
    load_config,
    settings_lookup,
)
from .errors import (
    AccessDenied,
    ConfigError,
    LoginError,
    OktaError,
    ProviderError,
    TokenValidationError,
)
from .protocol.api_session import ApiSession
from .protocol.bearer import AccessTokenValidator
from .protocol.client import ProviderClient
from .protocol.discovery import MetadataCache
from .protocol.dpop import DPoPSigner
from .protocol.dpop_proof import NonceIssuer, ProofValidator
from .protocol.grants import Grants, TokenResult
from .protocol.http import HttpClient
from .protocol.jwks import JwksCache
from .protocol.step_up import (
    INSUFFICIENT_USER_AUTHENTICATION,
    AuthenticationRequirement,
)
from .protocol.verifier import TokenVerifier
from .sessions.cookie import CookieSettings, CookieWriter, SignInCookie, request_cookie
from .sessions.lifecycle import SignInLifecycle
from .sessions.logout import LogoutRegistry, build_logout_cache
from .sessions.sealing import TokenSealer
from .sessions.server_store import (
    REDIS_SCHEMES,
    cache_store,
    filesystem_store,
    redis_store,
)
from .sessions.session_store import SessionTokenStore
from .sessions.storage import SignedInUser, TokenStore, token_type_of
from .sessions.transactions import SESSION_KEY as LOGINS_SESSION_KEY
from .sessions.transactions import LoginTransaction, begin_login
from .web.api_tokens import client_credentials_token, exchanged_token, user_token
from .web.app_wide import require_login_everywhere
from .web.backchannel import backchannel_logout
from .web.decorators import (
    bearer_token_required,
    login_required,
    refresh_or_sign_out,
    token_exchange_required,
)
from .web.event_hooks import (
    DEFAULT_ENDING_EVENTS,
    MIN_EVENT_HOOK_SECRET_LENGTH,
    make_event_hook_view,
)
from .web.login_hooks import (
    AfterLogin,
    LoginHooks,
    ParamsHook,
    StateHook,
    returned_login_state,
)
from .web.providers import (
    DEFAULT_NAME,
    provider_state,
    register,
    registrations,
    signal_args,
)
from .web.responses import error_response, failed_error_page_response
from .web.session_endpoint import session_endpoint
from .web.silent_login import silent_login_everywhere
from .web.user import (
    AnonymousUser,
    User,
    current_user,
    forget_user,
    loaded_user,
    provider_user,
    set_user,
    state_user,
)
from .web.views import CSRF_SESSION_KEY, create_blueprint, csrf_token

log = logging.getLogger("flask_okta_client")


def build_token_store(app: Flask, config: OktaConfig, owner: str) -> TokenStore:
    """The store ``OKTA_TOKEN_STORE`` names: ``session``, a Redis URL, a directory or a cachelib cache.
    Its seals belong to ``owner`` (see :class:`TokenSealer`)."""
    value = config.token_store
    sealer = TokenSealer(app.config, owner=owner)
    lifetime = config.session_absolute_timeout
    lock_timeout = config.refresh_timeout + 5  # held until a refresh's call ends
    if value == "session":
        return SessionTokenStore(sealer, config.session_cookie_name)
    copies = config.token_store_cache_size if config.token_store_cache else None
    if isinstance(value, str) and value.startswith(REDIS_SCHEMES):
        return redis_store(value, sealer, lifetime, lock_timeout, copies=copies)
    if isinstance(value, (str, os.PathLike)):
        return filesystem_store(os.fspath(value), sealer, lifetime, lock_timeout)
    if all(callable(getattr(value, name, None)) for name in ("get", "set", "delete")):
        return cache_store(value, sealer, lifetime, lock_timeout, copies=copies)
    raise ConfigError("OKTA_TOKEN_STORE must be 'session', a redis:// URL, a directory or a cachelib cache")


def secret_bytes(app: Flask) -> bytes:
    """The app's ``SECRET_KEY`` (checked by the token store's sealer), which keys the API's DPoP
    nonces (shared by every instance)."""
    secret = app.config["SECRET_KEY"]
    return secret.encode() if isinstance(secret, str) else bytes(secret)


class OktaState:
    """Everything one registration of a Flask app needs to talk to its provider; the default
    registration's is in ``app.extensions["okta"]``, each one's in ``app.extensions["okta_providers"]``."""

    def __init__(self, app: Flask, config: OktaConfig, hooks: LoginHooks, name: str = DEFAULT_NAME) -> None:
        self.name = name
        self.config = config
        self.http = HttpClient(config.http_timeout, config.http_retries)
        self.metadata = MetadataCache(config.issuer, self.http, config.metadata_ttl)
        self.jwks = JwksCache(
            lambda: self.metadata.get()["jwks_uri"], self.http, config.jwks_ttl, config.jwks_refresh_cooldown
        )
        self.verifier = TokenVerifier(config, self.metadata, self.jwks)
        self.dpop = DPoPSigner(config.dpop_key, config.dpop_algorithm, self.dpop_algorithms,
                               config.setting) if config.dpop else None
        self.client = ProviderClient(config, self.metadata, self.http, dpop=self.dpop)
        self.grants = Grants(config, self.client, self.http)
        # Seals and logout records of a named registration are its own, even beside another
        # registration of the same client.
        owner = f"{config.issuer} {config.client_id}" + ("" if name == DEFAULT_NAME else f" {name}")
        self.store = build_token_store(app, config, owner)
        self.cookie = CookieSettings.for_app(app, config.session_cookie_name)
        self.logouts = LogoutRegistry(config.issuer if name == DEFAULT_NAME else owner, self.store,
                                      build_logout_cache(config.logout_cache, self.store,
                                                         config.session_absolute_timeout),
                                      config.session_absolute_timeout)
        self.lifecycle = SignInLifecycle(config, self.store, self.client, self.verifier, self.logouts)
        if isinstance(self.store, SessionTokenStore):
            self.store.refreshed_here = self.lifecycle.refreshed_here
        if config.backchannel_logout:
            self.track_logouts()
        self.access_tokens = AccessTokenValidator(config, self.verifier, self.client)
        self.dpop_proofs = ProofValidator(
            config.dpop_proof_algorithms, config.dpop_proof_max_age, config.clock_skew, self.logouts.first_use,
            NonceIssuer(secret_bytes(app)) if config.dpop_require_nonce else None,
        )
        self.hooks = hooks

    def track_logouts(self) -> None:
        """From now on, sign-ins can be ended by back-channel logouts and Okta events."""
        self.logouts.enable()

    def dpop_algorithms(self) -> tuple[str, ...] | None:
        """The provider's ``dpop_signing_alg_values_supported``, if it lists them."""
        listed = self.metadata.get().get("dpop_signing_alg_values_supported")
        if not isinstance(listed, list):
            return None
        return tuple(alg for alg in listed if isinstance(alg, str)) or None

    def sign_in_cookie(self) -> SignInCookie:
        """This request's sign-in cookie (read on first use)."""
        return request_cookie(self.cookie.name, legacy=self.name == DEFAULT_NAME)

    @property
    def user(self) -> User | AnonymousUser:
        """This registration's user in this request (signed in or anonymous)."""
        return state_user(self)

    def endpoint(self, view: str) -> str:
        """The endpoint of one of this registration's routes (``okta.login``, ``staff.login``…)."""
        return f"{self.name}.{view}"

    def session_key(self, key: str) -> str:
        """Where this registration keeps ``key`` in Flask's session (the default one: ``key`` itself)."""
        return key if self.name == DEFAULT_NAME else f"{key}:{self.name}"

    # -- starting a sign-in -------------------------------------------------

    def redirect_uri(self) -> str:
        return self.config.redirect_uri or url_for(self.endpoint("callback"), _external=True)

    def post_logout_redirect_uri(self) -> str:
        return self.config.post_logout_redirect_uri or url_for(self.endpoint("logout_callback"), _external=True)

    def authorization_params(self, transaction: LoginTransaction, options: Mapping[str, str]) -> dict[str, str]:
        """The options, then what the extension sets itself: no option can replace ``state``,
        ``nonce``, PKCE or ``redirect_uri``. ``scope`` may come from the options (checked to
        include ``openid``) when an app lets it."""
        return {
            **options,
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": transaction.redirect_uri,
            "scope": options.get("scope") or " ".join(self.config.scopes),
            "state": transaction.state,
            "nonce": transaction.nonce,
            "code_challenge": transaction.code_challenge,
            "code_challenge_method": "S256",
            **({"dpop_jkt": self.dpop.key.thumbprint} if self.dpop is not None else {}),
        }

    def pushed_params(self, params: dict[str, str]) -> dict[str, str]:
        """RFC 9126: with PAR the browser carries only ``client_id`` and ``request_uri``.

        ``auto`` pushes only when discovery says the provider requires it, so an
        anonymous page load costs no outbound call otherwise; ``always`` pushes
        every time. A failed push fails the sign-in, never falls back to the URL.
        """
        metadata = self.metadata.get()
        mode = self.config.use_par
        if mode == "never" or (mode == "auto" and metadata.get("require_pushed_authorization_requests") is not True):
            return params
        if metadata.get("pushed_authorization_request_endpoint") is None:
            raise ProviderError("Pushed authorization requests are required (by OKTA_USE_PAR or the provider) "
                                "but the provider offers no pushed authorization endpoint.")
        request_uri, _ = self.client.push_authorization_request(params)
        return {"client_id": self.config.client_id, "request_uri": request_uri}

    def begin_login(self, session: MutableMapping[str, Any], *, next_url: str, options: Mapping[str, str],
                    silent: bool = False) -> str:
        """Remember a new transaction and return the provider URL to send the browser to.

        The app's hooks add authorization parameters and the login state first.
        """
        endpoint = self.metadata.get()["authorization_endpoint"]  # fails early if the provider is down
        options = {**options, **self.hooks.added_params(options)}
        transaction = begin_login(
            session,
            redirect_uri=self.redirect_uri(),
            next_url=next_url,
            lifetime=self.config.login_timeout,
            max_pending=self.config.max_pending_logins,
            max_age=int(options["max_age"]) if "max_age" in options else None,
            acr_values=options.get("acr_values"),
            silent=silent,
            login_state=self.hooks.login_state(),
            key=self.session_key(LOGINS_SESSION_KEY),
        )
        params = self.pushed_params(self.authorization_params(transaction, options))
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"

    # -- finishing a sign-in ------------------------------------------------

    def check_response_issuer(self, iss: str | None) -> None:
        """RFC 9207: a sent ``iss`` must be ours; a promised one must be sent."""
        if iss is None:
            if self.metadata.get().requires_iss_parameter:
                raise LoginError("The sign-in response did not name its issuer.", error="invalid_issuer")
        elif iss != self.config.issuer:
            log.warning("okta: authorization response from issuer %r, expected %r", iss, self.config.issuer)
            raise LoginError("The sign-in response came from another issuer.", error="invalid_issuer")

    def verify_login(self, transaction: LoginTransaction, code: str) -> SignedInUser:
        """Exchange the code and verify the ID token (and UserInfo, if configured)."""
        token = self.client.exchange_code(code, transaction.code_verifier, transaction.redirect_uri)
        if not isinstance(token.get("id_token"), str):
            raise ProviderError("The sign-in service returned no ID token.")
        try:
            claims = self.verifier.verify_id_token(token["id_token"], nonce=transaction.nonce,
                                                   access_token=token["access_token"])
        except TokenValidationError as exc:
            log.warning("okta: ID token rejected: %s", exc.description)
            raise LoginError(f"The sign-in could not be verified: {exc.description}", error="invalid_id_token") from None
        self.check_requested_authentication(transaction, claims)
        userinfo = None
        if self.config.use_userinfo:
            userinfo = self.userinfo_claims(token["access_token"], token_type_of(token), claims["sub"])
        return SignedInUser.from_token(token, userinfo)

    def check_requested_authentication(self, transaction: LoginTransaction, claims: Mapping[str, Any]) -> None:
        """A sign-in that asked for ``acr_values`` or ``max_age`` must come back with them.

        Refused with 403 rather than sent round again: a provider that answers
        with a weaker ``acr`` or an old ``auth_time`` would answer the same way.
        """
        requirement = AuthenticationRequirement.build(transaction.acr_values, transaction.max_age)
        if requirement is None:
            return
        unmet = requirement.unmet_by(claims, now=self.verifier.clock(), leeway=self.config.clock_skew)
        if unmet is not None:
            log.warning("okta: sign-in refused, it does not meet the requested authentication: %s", unmet)
            raise AccessDenied(f"The sign-in service did not confirm the sign-in this page needs. {unmet}",
                               error=INSUFFICIENT_USER_AUTHENTICATION)

    def userinfo_claims(self, access_token: str, token_type: str, sub: str) -> dict[str, Any]:
        info = self.client.userinfo(access_token, token_type)
        if info.get("sub") != sub:
            log.warning("okta: UserInfo subject does not match the ID token's")
            raise LoginError("The sign-in service's user information does not match the sign-in.",
                             error="invalid_userinfo")
        return info

    def run_after_login(self, user: User) -> Response | None:
        """The first response an ``after_login`` callback returns, if any."""
        for callback in self.hooks.after_login:
            response = callback(user)
            if response is not None:
                return response
        return None

    def store_login(self, session: MutableMapping[str, Any], stored: SignedInUser) -> None:
        """Drop what a previous sign-in left, keep the new sign-in under a new sign-in cookie,
        and take a new session id where the session interface can. Other session keys are kept.

        The id is renewed after the sign-in is stored: Flask-Session leaves an empty
        session's id as it is, and the session may hold nothing else by now.
        """
        self.forget_sign_in(session)
        self.store.save(self.sign_in_cookie(), stored)
        self.logouts.signed_in(self.sign_in_cookie(), stored)
        regenerate = getattr(current_app.session_interface, "regenerate", None)
        if callable(regenerate):
            regenerate(session)
        set_user(self.name, stored)

    # -- during and after a sign-in -----------------------------------------

    def refresh_current_user(self, *, force: bool = False) -> SignedInUser:
        """Make the current user's access token fresh (refreshing if due or ``force``)."""
        stored = self.user.stored
        refreshed = self.lifecycle.ensure_fresh(self.sign_in_cookie(), stored, force=force)
        if refreshed is not stored:
            user = set_user(self.name, refreshed)
            if refreshed.access_token != stored.access_token:
                signals.token_refreshed.send(current_app._get_current_object(), user=user, **signal_args(self))
        return refreshed

    def exchange_for_current_user(self, *, audience: str, scope: str | None, requested_token_type: str | None,
                                  target_issuer: str | None, force: bool = False) -> Mapping[str, Any]:
        """A token for ``audience`` exchanged from the user's tokens, cached per session until near expiry
        (``force`` exchanges again, e.g. after the API refused the cached token)."""
        stored = self.user.stored
        key = " ".join([audience, scope or "", requested_token_type or "", target_issuer or ""])
        cached = None if force else self.lifecycle.cached_exchange(stored, key)
        if cached is not None:
            return cached
        if target_issuer is not None:
            result = self.grants.cross_app_access(stored.id_token, target_issuer=target_issuer, scope=scope)
        else:
            result = self.grants.token_exchange(
                stored.access_token, audience=audience, scope=scope, requested_token_type=requested_token_type
            )
        token = {"access_token": result.access_token, "expires_at": result.expires_at, "scope": result.scope,
                 "issued_token_type": result.issued_token_type, "token_type": result.token_type}
        updated = stored.with_exchanged(key, token)
        if self.store.replace(self.sign_in_cookie(), stored, updated):  # kept unless refreshed meanwhile
            user = set_user(self.name, updated)
        else:
            user = self.user
        signals.token_exchanged.send(current_app._get_current_object(), user=user, audience=audience,
                                     **signal_args(self))
        return token

    def api_session(self, base_url: str, *, audience: str | None = None, scope: str | None = None,
                    client_credentials: bool = False, allowed_origins: Collection[str] = ()) -> ApiSession:
        """A ``requests.Session`` for the API at ``base_url``; see :meth:`OktaClient.api_session`."""
        if audience is not None and client_credentials:
            raise ValueError("api_session: give audience (a token exchange) or client_credentials, not both")
        if audience is not None:
            source = exchanged_token(self, audience, scope)
        elif client_credentials:
            source = client_credentials_token(self, scope)
        elif scope is not None:
            raise ValueError("api_session: scope goes with audience= or client_credentials=True; the user's "
                             "own token has the scopes granted at sign-in")
        else:
            source = user_token(self)
        return ApiSession(base_url, source, dpop=self.dpop, timeout=self.config.http_timeout,
                          allowed_origins=allowed_origins)

    def forget_sign_in(self, session: MutableMapping[str, Any]) -> None:
        """Remove the stored sign-in (server-side entry included) and its CSRF token."""
        self.store.clear(self.sign_in_cookie())
        session.pop(CSRF_SESSION_KEY, None)
        forget_user(self.name)

    def end_session(self, session: MutableMapping[str, Any]) -> str | None:
        """Forget the sign-in locally, revoke its tokens; the ID token for the provider's sign-out.

        The sign-in this request loaded already is the one ended; the store is read only if none was.
        """
        loaded = loaded_user(self.name)
        stored = loaded.stored if isinstance(loaded, User) else self.store.load(self.sign_in_cookie())
        self.forget_sign_in(session)
        if stored is None:
            return None
        self.logouts.signed_out(stored)
        self.revoke_quietly(stored)
        return stored.id_token

    def revoke_quietly(self, stored: SignedInUser) -> None:
        """Sign-out must work while the provider is down: revocation failures are only logged."""
        for hint, token in (("refresh_token", stored.refresh_token), ("access_token", stored.access_token)):
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


def apply_cookie_defaults(app: Flask, config: OktaConfig) -> None:
    """``SameSite=Lax`` unless the app chose; ``Secure`` when the site's configured URLs are https.

    Per request, the sign-in cookie is also ``Secure`` whenever the request came over
    https (``request.is_secure``; behind a TLS-terminating proxy, with ``ProxyFix``).
    """
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if app.config.get("PREFERRED_URL_SCHEME") == "https" or (config.redirect_uri or "").startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    if config.session_cookie_name == app.config.get("SESSION_COOKIE_NAME"):
        raise ConfigError("OKTA_SESSION_COOKIE_NAME must differ from SESSION_COOKIE_NAME")


def check_beside_others(app: Flask, name: str, config: OktaConfig) -> None:
    """A registration's name, cookie and routes are its own, and app-wide switches are on for one
    registration at most."""
    if name in registrations(app):
        raise ConfigError(f"A sign-in provider named {name!r} is already registered on this app: "
                          "give each OktaClient(app, name=...) its own name")
    if name in app.blueprints:
        raise ConfigError(f"The app has a blueprint named {name!r} already: name the provider otherwise "
                          "(its routes are a blueprint of that name)")
    for other in registrations(app).values():
        for setting in ("session_cookie_name", "url_prefix", "session_endpoint"):
            value = getattr(config, setting)
            if value is not None and value == getattr(other.config, setting):
                key = "OKTA_" + setting.upper()
                raise ConfigError(f"{config.setting(key)} is {value!r}, like {other.config.setting(key)}: "
                                  f"each provider needs its own")
        for switch in ("require_login", "silent_login"):
            if getattr(config, switch) and getattr(other.config, switch):
                raise ConfigError(f"{config.setting('OKTA_' + switch.upper())} and "
                                  f"{other.config.setting('OKTA_' + switch.upper())} are both on: at most one "
                                  "provider may guard the whole app")


def register_app_wide(app: Flask) -> None:
    """What the app gets once, with its first registration: error pages, template helpers, commands."""
    from .cli import okta_cli

    app.register_error_handler(OktaError, error_response)
    if InternalServerError not in app.error_handler_spec[None][500]:
        app.register_error_handler(InternalServerError, failed_error_page_response)
    app.context_processor(lambda: {"current_user": current_user, "okta_csrf_token": csrf_token,
                                   "provider_user": provider_user})
    app.add_template_filter(format_timestamp, "okta_datetime")
    if "okta" not in app.cli.commands:
        app.cli.add_command(okta_cli)


class OktaClient:
    """The Flask extension::

        okta = OktaClient(app)          # or: okta = OktaClient(); okta.init_app(app)

    It reads ``OKTA_*`` settings, registers the sign-in routes, the error pages
    and the ``flask okta`` commands, and makes ``current_user`` available in
    templates. One instance can serve several apps; each keeps its own state in
    ``app.extensions["okta"]``.

    Several providers in one app: each further registration has a name, reads
    the settings that start with that name (``STAFF_ISSUER``…, or
    ``config_prefix``), and serves its routes under ``/<name>``::

        staff = OktaClient(app, name="staff")

    Its decorators (``staff.login_required``…) protect views with that provider.
    """

    def __init__(self, app: Flask | None = None, *, name: str = DEFAULT_NAME,
                 config_prefix: str | None = None) -> None:
        self._hooks = LoginHooks()
        self.name = name
        self.config_prefix = checked_registration(name, config_prefix)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Register this provider on ``app``: read its settings, add its routes."""
        with errors_naming(self.config_prefix):
            config = load_config(app.config, name=self.name, prefix=self.config_prefix)
            apply_cookie_defaults(app, config)
        check_beside_others(app, self.name, config)  # its messages name both registrations' settings
        with errors_naming(self.config_prefix):
            state = OktaState(app, config, self._hooks, self.name)
        first = not registrations(app)
        register(app, state)
        blueprint = create_blueprint(self.name, config.url_prefix)
        if config.backchannel_logout:
            blueprint.add_url_rule(config.backchannel_logout_path, "backchannel_logout", backchannel_logout,
                                   methods=["POST"])
        app.register_blueprint(blueprint)
        if config.session_endpoint:
            app.add_url_rule(config.session_endpoint, state.endpoint("session"), session_endpoint,
                             methods=["GET", "POST"])
        if first:
            register_app_wide(app)
        app.after_request(CookieWriter(state.cookie))
        if config.silent_login:
            app.before_request(functools.partial(silent_login_everywhere, state))
        if config.require_login:
            app.before_request(functools.partial(require_login_everywhere, state))

    def login_required(self, view: Any = None, **options: Any) -> Any:
        """:func:`~flask_okta_client.login_required` with this provider (bare or with arguments)."""
        return login_required(view, **{"provider": self.name, **options})

    def bearer_token_required(self, view: Any = None, **options: Any) -> Any:
        """:func:`~flask_okta_client.bearer_token_required` with this provider's tokens."""
        return bearer_token_required(view, **{"provider": self.name, **options})

    def token_exchange_required(self, view: Any = None, **options: Any) -> Any:
        """:func:`~flask_okta_client.web.decorators.token_exchange_required` with this provider."""
        return token_exchange_required(view, **{"provider": self.name, **options})

    def after_login(self, callback: AfterLogin) -> AfterLogin:
        """Register ``callback(user)`` to run after the ID token is verified, before the
        sign-in is stored. Return a response to send the user elsewhere (onboarding);
        raise :class:`~flask_okta_client.errors.AccessDenied` to refuse the sign-in::

            @okta.after_login
            def onboarding(user):
                if not db.has_profile(user.sub):
                    return redirect(url_for("onboarding"))
        """
        self._hooks.after_login.append(callback)
        return callback

    def authorization_params(self, callback: ParamsHook) -> ParamsHook:
        """Register ``callback()`` to add parameters to every authorization request (it may read
        ``request`` and ``current_user``). It adds, never replaces: an option set by the query, the
        route or configuration stays. Names and values are checked like the query's::

            @okta.authorization_params
            def language():
                return {"ui_locales": get_locale()}
        """
        self._hooks.authorization_params.append(callback)
        return callback

    def state_for_login(self, callback: StateHook) -> StateHook:
        """Register ``callback()`` to return a small JSON-able dict (at most 1024 characters as
        JSON) kept with the pending sign-in and handed back as :attr:`login_state` when it
        finishes::

            @okta.state_for_login
            def campaign():
                return {"campaign": request.args.get("campaign")}

            @okta.after_login
            def welcome(user):
                if okta.login_state.get("campaign") == "spring":
                    return redirect(url_for("spring_offer"))
        """
        self._hooks.state_for_login.append(callback)
        return callback

    @property
    def login_state(self) -> dict[str, Any]:
        """In the callback request (``after_login``, ``user_logged_in`` receivers): the state
        the ``state_for_login`` hooks gave the sign-in. Empty elsewhere."""
        return returned_login_state()

    def event_hook(self, app: Flask, rule: str | None = None, *, secret_setting: str | None = None,
                   header: str = "Authorization", end_sessions_on: Collection[str] = DEFAULT_ENDING_EVENTS,
                   endpoint: str | None = None) -> None:
        """Serve an Okta event hook at ``rule`` (after :meth:`init_app`)::

            okta.event_hook(app, "/hooks/okta")        # secret in OKTA_EVENT_HOOK_SECRET

        ``rule`` defaults to ``/hooks/<name>``, ``secret_setting`` to this provider's
        ``OKTA_EVENT_HOOK_SECRET`` (``STAFF_EVENT_HOOK_SECRET``…) and ``endpoint`` to
        ``<name>_event_hook``; the events end sign-ins of this provider only.

            @signals.okta_event.connect_via("user.lifecycle.create")
            def welcome(event_type, app, event, **extra):
                ...

        Events of the ``end_sessions_on`` types end that user's sign-ins on every
        instance (see back-channel logout); pass ``()`` to only receive signals.
        """
        state = registrations(app).get(self.name)
        if state is None:
            raise ConfigError("okta.event_hook(app, ...) needs okta.init_app(app) first")
        secret_setting = secret_setting or state.config.setting("OKTA_EVENT_HOOK_SECRET")
        secret = settings_lookup(app.config, os.environ)(secret_setting)
        if not isinstance(secret, str) or len(secret.strip()) < MIN_EVENT_HOOK_SECRET_LENGTH:
            raise ConfigError(f"{secret_setting} must be set to the event hook's secret "
                              f"(at least {MIN_EVENT_HOOK_SECRET_LENGTH} characters)")
        if end_sessions_on:
            state.track_logouts()
        view = make_event_hook_view(secret.strip(), header, frozenset(end_sessions_on), self.name)
        app.add_url_rule(rule or f"/hooks/{self.name}", endpoint or f"{self.name}_event_hook", view,
                         methods=["GET", "POST"])

    @property
    def state(self) -> OktaState:
        """This provider's state in the current app."""
        return provider_state(self.name)

    @property
    def user(self) -> User | AnonymousUser:
        """The user signed in with this provider in this request (anonymous if none), whichever
        provider ``current_user`` stands for."""
        return self.state.user

    @property
    def config(self) -> OktaConfig:
        return self.state.config

    def refresh(self) -> User:
        """Refresh the tokens of this provider's signed-in user now; the updated user. A refused
        refresh ends the session (``refresh_failed``) and raises :class:`SessionEnded`."""
        state = self.state
        refresh_or_sign_out(state, force=True)
        return state.user

    def exchanged_token(self, audience: str) -> str:
        """The token ``@token_exchange_required(audience=...)`` obtained for this request."""
        tokens = g.get("okta_exchanged_tokens", {})
        if (self.name, audience) not in tokens:
            raise RuntimeError(f"no token was exchanged for {audience!r}: decorate the view with "
                               "@okta.token_exchange_required(audience=...)")
        return tokens[self.name, audience]

    def client_credentials_token(self, scope: str | list[str] | None = None) -> TokenResult:
        """A machine-to-machine access token, cached until near expiry."""
        return self.state.grants.client_credentials_token(scope)

    def api_session(self, base_url: str, *, audience: str | None = None, scope: str | None = None,
                    client_credentials: bool = False, allowed_origins: Collection[str] = ()) -> ApiSession:
        """A ``requests.Session`` that calls the API at ``base_url`` with an access token::

            with okta.api_session("https://api.example.com/") as api:
                messages = api.get("v1/messages").json()

        The token is the signed-in user's (refreshed when due), or one exchanged
        for ``audience`` (with ``scope``), or the app's own client-credentials
        token (``client_credentials=True``, with ``scope``); with ``OKTA_DPOP``
        each request also carries a DPoP proof. Requests to any other origin
        than ``base_url``'s (or ``allowed_origins``) raise ``ForeignOriginError``.
        """
        return self.state.api_session(base_url, audience=audience, scope=scope,
                                      client_credentials=client_credentials, allowed_origins=allowed_origins)

    def revoke_token(self, token: str, token_type_hint: str = "access_token") -> bool:
        return self.state.client.revoke(token, token_type_hint)

    def introspect_token(self, token: str, token_type_hint: str = "access_token") -> dict[str, Any]:
        return self.state.client.introspect(token, token_type_hint)
