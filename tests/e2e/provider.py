"""Node's oidc-provider (``tests/e2e/oidc_provider``) run as a real OpenID Provider, and its test clients."""

from __future__ import annotations

import json
import selectors
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from tests.components import require_component
from tests.e2e.forms import parse_forms

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
NODE = "node"
STARTUP_TIMEOUT_SECONDS = 20
MAX_REDIRECTS = 20

CALLBACK_PATH = "/authorization-code/callback"
LOGOUT_CALLBACK_PATH = "/logout/callback"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class OidcProvider:
    """A running oidc-provider instance and the clients registered with it."""

    issuer: str
    clients: dict[str, dict[str, object]]
    site_origin: str
    process: subprocess.Popen[str] = field(repr=False)

    @property
    def redirect_uri(self) -> str:
        return self.site_origin + CALLBACK_PATH

    @property
    def post_logout_redirect_uri(self) -> str:
        return self.site_origin + LOGOUT_CALLBACK_PATH

    def discovery(self) -> dict[str, object]:
        response = requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5)
        response.raise_for_status()
        return response.json()

    def login(
        self,
        session: requests.Session,
        authorize_url: str,
        username: str = "alice",
        password: str = "secret",
        acr: str | None = None,
    ) -> str:
        """Sign in through the provider's dev login and consent pages.

        Follows redirects from ``authorize_url`` (submitting the login form and, when
        shown, the consent form) until the provider redirects to a URL outside the
        issuer, and returns that URL (the client's callback) without requesting it.
        ``acr`` picks the authentication level on the login form (providers started
        with the ``acrValues`` option).
        """
        response = session.get(authorize_url, allow_redirects=False, timeout=5)
        for _ in range(MAX_REDIRECTS):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if not self._is_provider_url(location):
                    return location
                response = session.get(location, allow_redirects=False, timeout=5)
            elif response.ok and "text/html" in response.headers.get("Content-Type", ""):
                response = self._submit_interaction(session, response, username, password, acr)
            else:
                raise AssertionError(
                    f"unexpected response {response.status_code} from {response.url}: {response.text[:500]}"
                )
        raise AssertionError(f"no redirect to the client after {MAX_REDIRECTS} steps")

    def _is_provider_url(self, url: str) -> bool:
        return urlsplit(url)[:2] == urlsplit(self.issuer)[:2]

    @staticmethod
    def _submit_interaction(
        session: requests.Session, page: requests.Response, username: str, password: str, acr: str | None = None
    ) -> requests.Response:
        prompts = ("login", "consent")
        form = next((form for form in parse_forms(page.text) if form.fields.get("prompt") in prompts), None)
        if form is None:
            raise AssertionError(f"no login or consent form at {page.url}: {page.text[:500]}")
        data = dict(form.fields)
        if form.fields["prompt"] == "login":
            data.update(login=username, password=password, **({"acr": acr} if acr else {}))
        return session.post(urljoin(page.url, form.action), data=data, allow_redirects=False, timeout=5)


def client_registrations(site_origin: str) -> dict[str, dict[str, object]]:
    """The clients registered with the provider, by name: ``web``, ``public`` and ``service``."""
    browser_client = {
        "redirect_uris": [site_origin + CALLBACK_PATH],
        "post_logout_redirect_uris": [site_origin + "/", site_origin + LOGOUT_CALLBACK_PATH],
        "response_types": ["code"],
    }
    return {
        "web": {
            **browser_client,
            "client_id": "web-client",
            "client_secret": "web-client-secret-0123456789abcdef",
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code", "refresh_token", TOKEN_EXCHANGE_GRANT, JWT_BEARER_GRANT],
        },
        "public": {
            **browser_client,
            "client_id": "public-client",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        },
        "service": {
            "client_id": "service-client",
            "client_secret": "service-client-secret-0123456789abcdef",
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["client_credentials", TOKEN_EXCHANGE_GRANT, JWT_BEARER_GRANT],
            "redirect_uris": [],
            "response_types": [],
        },
    }


def require_oidc_provider() -> None:
    """Skip (or fail, with --require-components) when node or the npm package is missing."""
    require_component(shutil.which(NODE) is not None, "node is not installed (needed for the oidc-provider e2e tests)")
    require_component(
        (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir(),
        f"oidc-provider is not installed: run `npm ci` in {PROVIDER_DIR}",
    )


@contextmanager
def running_provider(site_origin: str, work_dir: Path, options: dict[str, object] | None = None, *,
                     port: int = 0) -> Iterator[OidcProvider]:
    """Start oidc-provider (``node`` on PATH) with the clients for ``site_origin``; stop it on exit.

    ``options`` are added to its CONFIG_JSON (see ``server.mjs``; ``issuer`` names the URL it
    is reached at, e.g. a proxy in front of it). It listens on loopback ``port`` (0: any
    free one). Its config and stderr log are written to ``work_dir``.
    """
    clients = client_registrations(site_origin)
    config_path = work_dir / "config.json"
    config_path.write_text(json.dumps({"clients": list(clients.values()), **(options or {})}))
    stderr_path = work_dir / "stderr.log"

    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [NODE, "server.mjs", str(port), str(config_path)],
            cwd=PROVIDER_DIR,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        issuer = _wait_until_ready(process, stderr_path)
        yield OidcProvider(issuer=issuer, clients=clients, site_origin=site_origin, process=process)
    finally:
        _stop(process)


def _wait_until_ready(process: subprocess.Popen[str], stderr_path: Path) -> str:
    """Return the issuer from the server's ``READY <issuer>`` line."""
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while (remaining := deadline - time.monotonic()) > 0:
            if not selector.select(remaining):
                break
            line = process.stdout.readline()
            if line.startswith("READY "):
                return line.split(maxsplit=1)[1].strip()
            if not line:
                process.wait(timeout=5)
                stderr = stderr_path.read_text()
                raise RuntimeError(f"oidc-provider exited with {process.returncode}: {stderr}")
    raise RuntimeError(f"oidc-provider not ready after {STARTUP_TIMEOUT_SECONDS}s: {stderr_path.read_text()}")


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
