"""A sign-in cookie changed in the browser opens as nobody (README, Where tokens live: sealed with AES-256-GCM, or a
handle to a sealed entry): a page load is sent to sign in, an API call gets 401, never a 500, and the rest of the
browser's session is kept."""

from __future__ import annotations

import pytest

from flask_okta_client.testing.tokens import set_sign_in_cookie, store_sign_in
from tests.site import add_cart_views, make_site, sign_in
from tests.test_token_lifecycle import okta_sized_sign_in, realistic_groups

JSON = {"Accept": "application/json"}


def flip(value: str, at: int) -> str:
    """``value`` with the character at ``at`` replaced by another of the same alphabet."""
    return value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1:]


TAMPERINGS = {
    "a character flipped in the middle": lambda value: flip(value, len(value) // 2),
    "the first character flipped": lambda value: flip(value, 0),
    "a character of the tag flipped": lambda value: flip(value, len(value) - 2),  # the last may be padding bits
    "cut short": lambda value: value[: len(value) // 2],
    "with more appended": lambda value: value + "AAAA",
    "not base64 at all": lambda value: "%%%" + value[3:],
    "empty": lambda value: "",
    "huge": lambda value: value * 3,
}


def sign_in_cookie(client, name: str = "okta_session") -> str:
    return next(cookie.value for cookie in client._cookies.values() if cookie.key == name)


def signed_in_client(app, okta_mock_server):
    client = app.test_client()
    client.get("/remember")  # something of the browser's own in Flask's session
    sign_in(client, okta_mock_server)
    assert client.get("/protected").status_code == 200
    return client


def assert_signed_out_cleanly(client) -> None:
    page = client.get("/protected")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    api = client.get("/protected", headers=JSON)
    assert api.status_code == 401 and api.json["error"] == "unauthorized"
    assert client.get("/").get_data(as_text=True) == "home anonymous"
    assert client.get("/cart").get_data(as_text=True) == "3 apples"


@pytest.mark.parametrize("store", ["session", "redis"])
@pytest.mark.parametrize("tamper", list(TAMPERINGS.values()), ids=list(TAMPERINGS))
def test_a_tampered_sign_in_cookie_signs_nobody_in(okta_settings, okta_mock_server, redis_url, store, tamper):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_url if store == "redis" else "session")
    add_cart_views(app)
    client = signed_in_client(app, okta_mock_server)
    genuine = sign_in_cookie(client)
    set_sign_in_cookie(client, tamper(genuine))
    assert_signed_out_cleanly(client)
    set_sign_in_cookie(client, genuine)  # the genuine cookie still opens
    assert client.get("/protected").status_code == 200


def split_sign_in(okta_settings, okta_mock_server):
    """A client with a cart in its session and a sign-in too large for one cookie (split in chunks)."""
    app = make_site(okta_settings)
    add_cart_views(app)
    client = app.test_client()
    client.get("/remember")
    store_sign_in(client, okta_sized_sign_in(okta_mock_server, groups=realistic_groups(150)))
    return client


def test_a_tampered_chunk_of_a_split_sign_in_signs_nobody_in(okta_settings, okta_mock_server):
    client = split_sign_in(okta_settings, okta_mock_server)
    chunks = sorted(c.key for c in client._cookies.values() if c.key.startswith("okta_session."))
    assert len(chunks) >= 2 and client.get("/protected").status_code == 200
    client.set_cookie(chunks[0], flip(sign_in_cookie(client, chunks[0]), 10))
    assert_signed_out_cleanly(client)


def test_chunks_in_another_order_sign_nobody_in(okta_settings, okta_mock_server):
    client = split_sign_in(okta_settings, okta_mock_server)
    first, second = (sign_in_cookie(client, f"okta_session.{i}") for i in (0, 1))
    client.set_cookie("okta_session.0", second)
    client.set_cookie("okta_session.1", first)
    assert_signed_out_cleanly(client)
