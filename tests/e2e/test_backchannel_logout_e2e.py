"""Back-channel logout against the real oidc-provider: two instances of the site share a real redis-server;
the user signs in on one, ends the session at the provider, and is signed out on the other."""

from __future__ import annotations

import secrets
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urljoin

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from tests.components import require_component
from tests.e2e.forms import parse_forms
from tests.e2e.provider import NODE, PROVIDER_DIR, OidcProvider, running_provider
from tests.e2e.site import create_site_app, new_browser

pytestmark = pytest.mark.e2e

TIMEOUT = 5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(app: Flask, port: int) -> Iterator[str]:
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"instance-{port}", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def instance_ports() -> tuple[int, int]:
    return free_port(), free_port()


@pytest.fixture(scope="module")
def provider(instance_ports, tmp_path_factory) -> Iterator[OidcProvider]:
    """oidc-provider whose web client is registered on instance A, with back-channel logout to instance A."""
    require_component(shutil.which(NODE) is not None, "node is not installed (needed for the oidc-provider e2e tests)")
    require_component((PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir(),
                      f"oidc-provider is not installed: run `npm ci` in {PROVIDER_DIR}")
    origin_a = f"http://127.0.0.1:{instance_ports[0]}"
    options = {"backchannelLogoutUris": {"web-client": origin_a + "/backchannel-logout"}}
    with running_provider(origin_a, tmp_path_factory.mktemp("oidc_provider_bcl"), options) as running:
        yield running


@pytest.fixture(params=["OKTA_TOKEN_STORE", "OKTA_LOGOUT_CACHE"])
def instances(request, provider, instance_ports, redis_url) -> Iterator[tuple[str, str]]:
    """Instances A and B of one site: the same secret key, back-channel logout on, and Redis shared as
    the token store, or (cookie store) as the logout cache."""
    settings = {"SECRET_KEY": secrets.token_hex(32), request.param: redis_url, "OKTA_BACKCHANNEL_LOGOUT": True,
                "OKTA_REDIRECT_URI": provider.redirect_uri}
    port_a, port_b = instance_ports
    with serving(create_site_app(provider, "web", **settings), port_a) as a, \
            serving(create_site_app(provider, "web", **settings), port_b) as b:
        yield a, b


def sign_in(provider: OidcProvider, browser: requests.Session, origin: str) -> None:
    start = browser.get(f"{origin}/login", params={"next": "/protected"}, allow_redirects=False, timeout=TIMEOUT)
    callback = provider.login(browser, start.headers["Location"])
    assert browser.get(callback, allow_redirects=False, timeout=TIMEOUT).status_code == 302


def is_signed_in(browser: requests.Session, origin: str) -> bool:
    response = browser.get(f"{origin}/protected", allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code in (200, 302), response.text[:300]
    return response.status_code == 200


def end_session_at_provider(provider: OidcProvider, browser: requests.Session) -> None:
    """The user signs out at the provider itself (its end_session page, confirming every session)."""
    end_session = provider.discovery()["end_session_endpoint"]
    page = browser.get(end_session, params={"client_id": "web-client"}, timeout=TIMEOUT)
    form = next(form for form in parse_forms(page.text) if "xsrf" in form.fields)
    confirmed = browser.post(urljoin(page.url, form.action), data={**form.fields, "logout": "yes"},
                             allow_redirects=False, timeout=TIMEOUT)
    assert confirmed.status_code in (200, 302, 303), confirmed.text[:300]


def test_ending_the_session_at_the_provider_signs_out_on_another_instance(provider, instances):
    a, b = instances
    browser = new_browser()
    sign_in(provider, browser, a)
    assert is_signed_in(browser, b)  # the same sign-in, through the shared store or the cookie
    end_session_at_provider(provider, browser)
    assert not is_signed_in(browser, b)
    assert not is_signed_in(browser, a)


def test_another_user_s_sign_in_is_kept(provider, instances):
    a, b = instances
    alice, bob = new_browser(), new_browser()
    sign_in(provider, alice, a)
    bob_at_provider = new_browser()
    start = bob.get(f"{a}/login", allow_redirects=False, timeout=TIMEOUT)
    bob.get(provider.login(bob_at_provider, start.headers["Location"], username="bob"), allow_redirects=False,
            timeout=TIMEOUT)
    end_session_at_provider(provider, alice)
    assert not is_signed_in(alice, b)
    assert is_signed_in(bob, b)
