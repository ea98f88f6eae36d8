"""``flask okta …``: check the configuration, make a signing key, get a test token."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import Flask
from flask.cli import AppGroup, ScriptInfo
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from .config import OktaConfig, naming_settings
from .diagnostics import Report, effective_settings, failure_reason, site_urls
from .errors import ConfigError, OktaError
from .extension import OktaState
from .protocol.discovery import discovery_url
from .web.providers import provider_state, registrations

okta_cli = AppGroup("okta", help="Okta sign-in: check the configuration, create a signing key, get a token.")

ENDPOINTS = (
    "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "revocation_endpoint",
    "introspection_endpoint", "end_session_endpoint", "pushed_authorization_request_endpoint",
)


def bearer_validation(state: OktaState, document: dict[str, Any]) -> str:
    """How @bearer_token_required will check access tokens (``auto`` decides by the issuer and discovery)."""
    mode = state.config.token_validation
    if state.access_tokens.introspects():
        return f"Bearer tokens: introspected at {document.get('introspection_endpoint')} (OKTA_TOKEN_VALIDATION={mode})"
    return (f"Bearer tokens: validated locally against the JWKS, audience {state.config.audience!r} "
            f"(OKTA_TOKEN_VALIDATION={mode})")


def fail(problems: list[str]) -> NoReturn:
    click.echo("Problems:", err=True)
    for problem in problems:
        click.echo(f"  - {problem}", err=True)
    raise click.exceptions.Exit(1)


def load_checked_app() -> Flask:
    """The app, or the reasons it does not start (a ConfigError from init_app) as problems."""
    try:
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    except ConfigError as exc:
        fail([f"the app does not start: {exc.description}"])
    if "okta" not in app.extensions:
        fail(["the app does not use flask-okta-client: call OktaClient(app) or okta.init_app(app)"])
    return app


def checked_provider(app: Flask, provider: str | None) -> OktaState:
    """The registration ``--provider`` names (default: the default one), or the problem."""
    if provider is not None and provider not in registrations(app):
        fail([f"the app has no provider named {provider!r}; it has: {', '.join(registrations(app))}"])
    return provider_state(provider, app)


PROVIDER_OPTION = click.option("--provider", help="The provider (OktaClient name) to use; default: the default one.")


@okta_cli.command("check", with_appcontext=False)
@PROVIDER_OPTION
def check(provider: str | None) -> None:
    """Check the settings, the provider's discovery document and keys, and the client's registration."""
    app = load_checked_app()
    state = checked_provider(app, provider)
    with app.app_context():
        run_checks(app, state)


def run_checks(app: Flask, state: OktaState) -> None:
    config: OktaConfig = state.config
    report = Report()
    urls = site_urls(app, state)
    if len(registrations(app)) > 1:
        click.echo(f"Provider: {state.name} (settings {config.settings_prefix}*; others: "
                   f"{', '.join(name for name in registrations(app) if name != state.name)})")
    click.echo("Settings:")
    for name, value in effective_settings(config, urls).items():
        click.echo(f"  {name}: {value}")
    click.echo("Register these at the provider (Okta: the app integration's sign-in and sign-out redirect URIs):")
    click.echo(f"  sign-in redirect URI: {urls.sign_in}")
    click.echo(f"  sign-out redirect URI: {urls.sign_out}")
    if urls.computed_for:
        click.echo(naming_settings(
            f"  (computed for {urls.computed_for}, where `flask run` serves; the site builds them from each "
            "request's host: set OKTA_REDIRECT_URI and OKTA_POST_LOGOUT_REDIRECT_URI, or SERVER_NAME, "
            "for its public address)", config.settings_prefix))
    report.check_config(config)
    report.check_redirect_paths(app, state)
    try:
        document = state.http.get_json(discovery_url(config.issuer))
    except OktaError as exc:
        report.problems.append(f"discovery at {discovery_url(config.issuer)} failed: {failure_reason(exc)}; "
                               "check OKTA_ISSUER and that this machine can reach it")
    else:
        click.echo("Endpoints:")
        for name in ENDPOINTS:
            click.echo(f"  {name}: {document.get(name) or '(none)'}")
        usable = report.check_metadata(config, document)
        if isinstance(document.get("jwks_uri"), str):
            try:
                report.check_jwks(state.http.get_json(document["jwks_uri"]))
            except OktaError as exc:
                report.problems.append(f"JWKS at {document['jwks_uri']} failed: {failure_reason(exc)}")
        if usable:
            state.metadata.keep(document)  # what the probes read: discovery is fetched once
            report.check_client_authentication(state, urls.sign_in)
            report.check_sign_in_request(state, document, urls)
            click.echo(bearer_validation(state, document))
    for warning in report.warnings:
        click.echo(f"Warning: {naming_settings(warning, config.settings_prefix)}")
    if report.problems:
        fail([naming_settings(problem, config.settings_prefix) for problem in report.problems])
    click.echo("OK: no problems found.")


def write_private(path: Path, data: bytes, force: bool) -> None:
    """Write ``data`` readable by the owner only; refuse to replace a file unless ``force``."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; use --force to replace it") from None
    with os.fdopen(fd, "wb") as file:
        if hasattr(os, "fchmod"):  # POSIX: a replaced file keeps its old mode otherwise
            os.fchmod(fd, 0o600)
        file.write(data)


@okta_cli.command("keygen", with_appcontext=False)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("okta-private-key.pem"), show_default=True, help="Where to write the private key PEM.")
@click.option("--kid", help="Key id (default: the key's RFC 7638 thumbprint).")
@click.option("--size", type=click.IntRange(min=2048), default=2048, show_default=True, help="RSA key size in bits.")
@click.option("--force", is_flag=True, help="Replace an existing key file.")
def keygen(out: Path, kid: str | None, size: int, force: bool) -> None:
    """Create an RSA key for private_key_jwt and print the public JWK to register at Okta."""
    key = RSAKey.generate_key(size, parameters={"use": "sig", "alg": "RS256", **({"kid": kid} if kid else {})})
    key.ensure_kid()
    write_private(out, key.as_pem(private=True), force)
    click.echo(f"Wrote the private key to {out} (mode 0600). Keep it secret.")
    click.echo("Public JWK to add to the Okta app integration (Client authentication: Public key / Private key):")
    click.echo(json.dumps(key.as_dict(private=False), indent=2))
    click.echo("Settings:")
    click.echo(f"  OKTA_PRIVATE_KEY={out.resolve()}")
    click.echo(f"  OKTA_PRIVATE_KEY_ID={key.kid}")


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, without checking its signature; None for an opaque token."""
    try:
        payload = json.loads(jws.extract_compact(token.encode()).payload)
    except (JoseError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


@okta_cli.command("token", with_appcontext=False)
@click.option("--scope", "scopes", multiple=True, help="A scope to request (repeat, or space-separate).")
@click.option("--show-token", is_flag=True, help="Also print the access token itself.")
@PROVIDER_OPTION
def token(scopes: tuple[str, ...], show_token: bool, provider: str | None) -> None:
    """Get a client-credentials access token and show its claims."""
    app = load_checked_app()
    state = checked_provider(app, provider)
    with app.app_context():
        show_client_credentials_token(state, scopes, show_token)


def show_client_credentials_token(state: OktaState, scopes: tuple[str, ...], show_token: bool) -> None:
    try:
        result = state.grants.client_credentials_token(scopes or None)
    except OktaError as exc:
        raise click.ClickException(f"{exc.title}: {exc.description} ({exc.error})") from None
    click.echo(f"Token type: {result.token_type}")
    click.echo(f"Scope: {result.scope or '(none)'}")
    if result.expires_at is not None:
        click.echo(f"Expires: {utc(result.expires_at)}")
    claims = unverified_claims(result.access_token)
    if claims is None:
        click.echo("The access token is opaque (not a JWT).")
    else:
        click.echo("Claims (signature not verified):")
        click.echo(json.dumps(claims, indent=2, sort_keys=True))
    if show_token:
        click.echo(f"Access token: {result.access_token}")
