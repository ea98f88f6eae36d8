"""A site mounted under a path (``SCRIPT_NAME``), as behind a proxy or Werkzeug's DispatcherMiddleware:
every redirect stays inside the mount point."""

from __future__ import annotations

import secrets

import pytest
import requests
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Response

from flask_okta_client.testing import MockClient
from tests.site import csrf_token, local, make_site, query

MOUNT = "/shop"


@pytest.fixture
def mounted(okta_settings, okta_mock_server):
    """A test client for the site at ``/shop``; anything outside it answers 404."""
    def make(**config):
        client = okta_mock_server.add_client(MockClient(
            f"0oa-mounted-{secrets.token_hex(4)}", secrets.token_urlsafe(24),
            redirect_uris=[f"http://localhost{MOUNT}/authorization-code/callback"],
            post_logout_redirect_uris=[f"http://localhost{MOUNT}/logout/callback"],
        ))
        app = make_site({**okta_settings, "OKTA_CLIENT_ID": client.client_id,
                         "OKTA_CLIENT_SECRET": client.client_secret}, **config)
        app.wsgi_app = DispatcherMiddleware(Response("not this site", status=404), {MOUNT: app.wsgi_app})
        return app.test_client()
    return make


def sign_in_from(client, okta_mock_server, path: str):
    """Open ``path`` signed out, sign in at the provider; the site's answer to the callback."""
    to_login = client.get(path, headers={"Accept": "text/html"})
    assert to_login.status_code == 302
    callback = okta_mock_server.login(client.get(to_login.headers["Location"]).headers["Location"], "alice")
    return client.get(local(callback))


def test_sign_in_comes_back_to_the_page_inside_the_mount_point(mounted, okta_mock_server):
    client = mounted()
    landed = sign_in_from(client, okta_mock_server, f"{MOUNT}/protected?tab=orders")
    assert landed.headers["Location"] == f"{MOUNT}/protected?tab=orders"
    assert client.get(landed.headers["Location"]).get_data(as_text=True).startswith("protected for 00u")


def test_the_provider_is_given_the_mounted_callback(mounted):
    login = mounted().get(f"{MOUNT}/login").headers["Location"]
    assert query(login)["redirect_uri"] == f"http://localhost{MOUNT}/authorization-code/callback"


def test_without_a_next_page_users_land_on_the_mounted_root(mounted, okta_mock_server):
    client = mounted()
    callback = okta_mock_server.login(client.get(f"{MOUNT}/login").headers["Location"], "alice")
    landed = client.get(local(callback))
    assert landed.headers["Location"] == f"{MOUNT}/"
    assert client.get(landed.headers["Location"]).get_data(as_text=True).startswith("home 00u")


def test_sign_out_comes_back_to_the_mounted_root(mounted, okta_mock_server):
    client = mounted()
    sign_in_from(client, okta_mock_server, f"{MOUNT}/protected")
    csrf = csrf_token(client, f"{MOUNT}/logout")
    to_provider = client.post(f"{MOUNT}/logout", data={"csrf_token": csrf}).headers["Location"]
    assert query(to_provider)["post_logout_redirect_uri"] == f"http://localhost{MOUNT}/logout/callback"
    back = requests.get(to_provider, allow_redirects=False, timeout=5).headers["Location"]
    assert client.get(local(back)).headers["Location"] == f"{MOUNT}/"


def test_a_configured_default_redirect_is_used_as_given(mounted, okta_mock_server):
    client = mounted(OKTA_DEFAULT_REDIRECT=f"{MOUNT}/welcome")
    callback = okta_mock_server.login(client.get(f"{MOUNT}/login").headers["Location"], "alice")
    assert client.get(local(callback)).headers["Location"] == f"{MOUNT}/welcome"
