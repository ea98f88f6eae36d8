"""A directory token store shared by several real processes: no write of one undoes another's."""

from __future__ import annotations

import multiprocessing
import secrets
from typing import Any

import pytest

from flask_okta_client.sessions import server_store
from flask_okta_client.sessions.cookie import SignInCookie
from flask_okta_client.testing import tokens as test_tokens
from flask_okta_client.testing.tokens import TestTokens
from tests.concurrency import run_concurrently
from tests.site import make_site

# Sign-ins each process stores, all of one user, so every one of them updates the same logout index.
SIGN_INS_PER_PROCESS = 100
ENABLED = {"OKTA_BACKCHANNEL_LOGOUT": True}


def store_sign_ins(settings: dict[str, Any], server: Any, start: Any, handles: Any) -> None:
    """In a process of its own: sign alice in many times (as many browsers), hand back their cookies."""
    app = make_site(settings, **ENABLED)
    tokens = TestTokens(server)
    start.wait(10)
    made = []
    for _ in range(SIGN_INS_PER_PROCESS):
        browser = app.test_client()
        tokens.sign_in(browser, "alice")
        made.append(browser.get_cookie("okta_session").value)
    handles.put(made)


def in_two_processes(target: Any, *args: Any) -> list[Any]:
    """Run ``target(*args, start, results)`` in two forked processes released at once; their results."""
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    processes = [context.Process(target=target, args=(*args, start, results)) for _ in range(2)]
    for process in processes:
        process.start()
    start.set()
    outcome = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(10)
        assert process.exitcode == 0
    return outcome


def test_a_logout_ends_every_sign_in_two_processes_indexed_at_once(okta_settings, okta_mock_server, tmp_path):
    settings = {**okta_settings, "OKTA_TOKEN_STORE": str(tmp_path / "tokens")}
    handles = [h for made in in_two_processes(store_sign_ins, settings, okta_mock_server) for h in made]
    assert len(set(handles)) == 2 * SIGN_INS_PER_PROCESS

    app = make_site(settings, **ENABLED)
    state = app.extensions["okta"]
    with app.app_context():
        assert all(state.store.load(SignInCookie(h)) is not None for h in handles)
        state.logouts.end(sid=None, sub=test_tokens.test_subject("alice"))
        survivors = [h for h in handles if state.store.load(SignInCookie(h)) is not None]
    assert survivors == []


def store_one_sign_in_under(handle: str, settings: dict[str, Any], server: Any, start: Any,
                            results: Any) -> None:
    """In a process of its own: a sign-in whose first handle drawn is ``handle``; its user and handle."""
    drawn, random_handle = iter([handle]), secrets.token_urlsafe
    server_store.secrets.token_urlsafe = lambda size: next(drawn, None) or random_handle(size)
    app = make_site(settings)
    browser = app.test_client()
    username = f"user-{secrets.token_hex(4)}"
    start.wait(10)
    TestTokens(server).sign_in(browser, username)
    results.put((username, browser.get_cookie("okta_session").value))


@pytest.mark.parametrize("store", ["redis", "directory"])
def test_a_new_sign_in_never_overwrites_another_process_entry(okta_settings, okta_mock_server, tmp_path,
                                                               request, store):
    """Two processes that draw the same handle: one keeps it, the other takes a new one; each
    browser opens its own sign-in, never the other's."""
    location = request.getfixturevalue("redis_url") if store == "redis" else str(tmp_path / "tokens")
    settings = {**okta_settings, "OKTA_TOKEN_STORE": location}
    handle = secrets.token_urlsafe(32)
    signed_in = in_two_processes(store_one_sign_in_under, handle, settings, okta_mock_server)

    app = make_site(settings)
    with app.app_context():
        for username, their_handle in signed_in:
            assert app.extensions["okta"].store.load(SignInCookie(their_handle)).claims["sub"] == \
                test_tokens.test_subject(username)
    assert sorted(h == handle for _, h in signed_in) == [False, True]


def test_a_logout_ends_every_sign_in_threads_of_one_process_indexed_at_once(okta_settings, okta_mock_server):
    """A cachelib cache of the app's own (here in-process) has its index updates ordered within the process."""
    import sys

    from cachelib import SimpleCache


    app = make_site(okta_settings, OKTA_TOKEN_STORE=SimpleCache(threshold=10_000), **ENABLED)
    tokens = TestTokens(okta_mock_server)

    def sign_in_browsers() -> list[str]:
        made = []
        for _ in range(SIGN_INS_PER_PROCESS):
            browser = app.test_client()
            tokens.sign_in(browser, "alice")
            made.append(browser.get_cookie("okta_session").value)
        return made

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns as often as they can
    try:
        handles = [h for made in run_concurrently([sign_in_browsers] * 4) for h in made]
    finally:
        sys.setswitchinterval(previous)
    state = app.extensions["okta"]
    with app.app_context():
        state.logouts.end(sid=None, sub=test_tokens.test_subject("alice"))
        assert [h for h in handles if state.store.load(SignInCookie(h)) is not None] == []
