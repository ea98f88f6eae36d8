"""``flask okta …``: check the configuration, make a signing key, get a test token."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from .config import OktaConfig
from .errors import OktaError, ProviderUnavailable
from .protocol.client_auth import load_private_key, signing_algorithm
from .protocol.discovery import REQUIRED_ENDPOINTS, discovery_url

okta_cli = AppGroup("okta", help="Okta sign-in: check the configuration, create a signing key, get a token.")

ENDPOINTS = (
    "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "revocation_endpoint",
    "introspection_endpoint", "end_session_endpoint", "pushed_authorization_request_endpoint",
)


def effective_settings(config: OktaConfig) -> dict[str, Any]:
    """The settings, with secret ones (``repr=False`` fields) shown only as set or not."""
    settings = {}
    for setting in dataclasses.fields(config):
        value = getattr(config, setting.name)
        settings[setting.name] = value if setting.repr else ("(set)" if value else "(not set)")
    return settings


def failure_reason(exc: OktaError) -> str:
    """Why a call failed: the reason (refused, timed out, answered 503…) when the provider was unavailable."""
    return exc.reason if isinstance(exc, ProviderUnavailable) else exc.description


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

    def check_metadata(self, config: OktaConfig, document: dict[str, Any]) -> None:
        if document.get("issuer") != config.issuer:
            self.problems.append(f"issuer mismatch: discovery names {document.get('issuer')!r}, "
                                 f"OKTA_ISSUER is {config.issuer!r}")
        for name in REQUIRED_ENDPOINTS:
            if not isinstance(document.get(name), str):
                self.problems.append(f"discovery has no {name}")
        has_par = isinstance(document.get("pushed_authorization_request_endpoint"), str)
        if config.use_par == "always" and not has_par:
            self.problems.append("OKTA_USE_PAR is 'always' but the provider has no pushed authorization endpoint")
        if config.use_par == "never" and document.get("require_pushed_authorization_requests") is True:
            self.problems.append("the provider requires pushed authorization requests but OKTA_USE_PAR is 'never'")
        methods = document.get("token_endpoint_auth_methods_supported")
        if isinstance(methods, list) and config.client_auth_method not in methods:
            self.problems.append(f"the provider does not support OKTA_CLIENT_AUTH_METHOD={config.client_auth_method}")
        if config.token_validation == "introspect" and not document.get("introspection_endpoint"):
            self.problems.append("OKTA_TOKEN_VALIDATION is 'introspect' but the provider has no introspection endpoint")
        if config.use_userinfo and not document.get("userinfo_endpoint"):
            self.problems.append("OKTA_USE_USERINFO is on but the provider has no userinfo endpoint")

    def check_jwks(self, jwks: dict[str, Any]) -> None:
        keys = [k for k in jwks.get("keys", []) if isinstance(k, dict) and k.get("use", "sig") == "sig"]
        click.echo(f"Signing keys: {len(keys)}")
        for key in keys:
            click.echo(f"  kid={key.get('kid', '(none)')} alg={key.get('alg', '(unspecified)')} kty={key.get('kty')}")
        if not keys:
            self.problems.append("the JWKS has no signing keys")
        elif any("kid" not in key for key in keys):
            self.warnings.append("some signing keys have no kid")


@okta_cli.command("check")
def check() -> None:
    """Check the settings and the provider's discovery document and keys."""
    state = current_app.extensions["okta"]
    config: OktaConfig = state.config
    report = Report()
    click.echo("Settings:")
    for name, value in effective_settings(config).items():
        click.echo(f"  {name}: {value}")
    report.check_config(config)
    try:
        document = state.http.get_json(discovery_url(config.issuer))
    except OktaError as exc:
        report.problems.append(f"discovery at {discovery_url(config.issuer)} failed: {failure_reason(exc)}; "
                               "check OKTA_ISSUER and that this machine can reach it")
    else:
        click.echo("Endpoints:")
        for name in ENDPOINTS:
            click.echo(f"  {name}: {document.get(name) or '(none)'}")
        report.check_metadata(config, document)
        if isinstance(document.get("jwks_uri"), str):
            try:
                report.check_jwks(state.http.get_json(document["jwks_uri"]))
            except OktaError as exc:
                report.problems.append(f"JWKS at {document['jwks_uri']} failed: {failure_reason(exc)}")
    for warning in report.warnings:
        click.echo(f"Warning: {warning}")
    if report.problems:
        click.echo("Problems:", err=True)
        for problem in report.problems:
            click.echo(f"  - {problem}", err=True)
        raise click.exceptions.Exit(1)
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


@okta_cli.command("token")
@click.option("--scope", "scopes", multiple=True, help="A scope to request (repeat, or space-separate).")
@click.option("--show-token", is_flag=True, help="Also print the access token itself.")
def token(scopes: tuple[str, ...], show_token: bool) -> None:
    """Get a client-credentials access token and show its claims."""
    state = current_app.extensions["okta"]
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
