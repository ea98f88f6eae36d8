"""Fixtures running Node's oidc-provider (``tests/e2e/oidc_provider``) as a real OpenID Provider."""

from __future__ import annotations

import json
import selectors
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.components import require_component

PROVIDER_DIR = Path(__file__).parent / "oidc_provider"
STARTUP_TIMEOUT_SECONDS = 20
MAX_REDIRECTS = 20

CALLBACK_PATH = "/authorization-code/callback"
LOGOUT_CALLBACK_PATH = "/logout/callback"
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class _Form:
    action: str
    fields: dict[str, str]


class _FormParser(HTMLParser):
    """Collects every <form>'s action and the names/values of its <input> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(_Form(action=attributes.get("action", ""), fields={}))
        elif tag == "input" and self.forms and "name" in attributes:
            self.forms[-1].fields[attributes["name"]] = attributes.get("value", "")


def _parse_forms(html: str) -> list[_Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


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
    ) -> str:
        """Sign in through the provider's dev login and consent pages.

        Follows redirects from ``authorize_url`` (submitting the login form and, when
        shown, the consent form) until the provider redirects to a URL outside the
        issuer, and returns that URL (the client's callback) without requesting it.
        """
        response = session.get(authorize_url, allow_redirects=False, timeout=5)
        for _ in range(MAX_REDIRECTS):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if not self._is_provider_url(location):
                    return location
                response = session.get(location, allow_redirects=False, timeout=5)
            elif response.ok and "text/html" in response.headers.get("Content-Type", ""):
                response = self._submit_interaction(session, response, username, password)
            else:
                raise AssertionError(
                    f"unexpected response {response.status_code} from {response.url}: {response.text[:500]}"
                )
        raise AssertionError(f"no redirect to the client after {MAX_REDIRECTS} steps")

    def _is_provider_url(self, url: str) -> bool:
        return urlsplit(url)[:2] == urlsplit(self.issuer)[:2]

    @staticmethod
    def _submit_interaction(
        session: requests.Session, page: requests.Response, username: str, password: str
    ) -> requests.Response:
        prompts = ("login", "consent")
        form = next((form for form in _parse_forms(page.text) if form.fields.get("prompt") in prompts), None)
        if form is None:
            raise AssertionError(f"no login or consent form at {page.url}: {page.text[:500]}")
        data = dict(form.fields)
        if form.fields["prompt"] == "login":
            data.update(login=username, password=password)
        return session.post(urljoin(page.url, form.action), data=data, allow_redirects=False, timeout=5)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _test_clients(site_origin: str) -> dict[str, dict[str, object]]:
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


@pytest.fixture(scope="session")
def e2e_site_port() -> int:
    """Loopback port reserved for the Flask site under test (its redirect URIs are registered with it)."""
    return _free_port()


@pytest.fixture(scope="session")
def oidc_provider(e2e_site_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    node = shutil.which("node")
    require_component(node is not None, "node is not installed (needed for the oidc-provider e2e tests)")
    require_component(
        (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir(),
        f"oidc-provider is not installed: run `npm ci` in {PROVIDER_DIR}",
    )

    site_origin = f"http://127.0.0.1:{e2e_site_port}"
    clients = _test_clients(site_origin)
    work_dir = tmp_path_factory.mktemp("oidc_provider")
    config_path = work_dir / "config.json"
    config_path.write_text(json.dumps({"clients": list(clients.values())}))
    stderr_path = work_dir / "stderr.log"

    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [node, "server.mjs", "0", str(config_path)],
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
