"""A restarted Redis answers LOADING while it reads its data back: requests wait a little, then 503."""

from __future__ import annotations

import time

import pytest

from tests.site import make_site, sign_in

# Each key redis-server loads takes this many microseconds (its own test knob), and it answers
# clients between every kilobyte it reads: a small data set takes seconds to load, as a large one would.
SLOW_LOADING = ("--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024")


def restart_loading(server, keys: int) -> None:
    """Give ``server`` ``keys`` more keys, restart it and return while it loads them (about 1 ms each)."""
    import redis

    client = redis.Redis.from_url(server.url)
    pipeline = client.pipeline(transaction=False)
    for index in range(keys):
        pipeline.set(f"filler:{index}", "x" * 16)
    pipeline.execute()
    client.close()
    server.stop()  # saves the data set
    server.start(*SLOW_LOADING)
    assert loading(server), "redis-server finished loading before the test could see it"


def loading(server) -> bool:
    import redis

    with redis.Redis.from_url(server.url) as client:
        return bool(client.info("persistence")["loading"])


def wait_until_loaded(server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while loading(server):
        assert time.monotonic() < deadline, "redis-server never finished loading"
        time.sleep(0.1)


@pytest.fixture
def site(okta_settings, okta_mock_server, redis_server):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_server.url)
    browser = app.test_client()
    sign_in(browser, okta_mock_server)
    assert browser.get("/protected").status_code == 200
    return app, browser


def test_a_request_while_redis_loads_briefly_waits_for_it_and_keeps_the_session(site, redis_server):
    _, browser = site
    restart_loading(redis_server, keys=500)
    assert browser.get("/protected").get_data(as_text=True).startswith("protected for 00u")


def test_a_long_load_answers_503_with_redis_own_estimate_then_the_session_is_back(site, redis_server, caplog):
    _, browser = site
    restart_loading(redis_server, keys=8000)
    with caplog.at_level("ERROR", logger="flask_okta_client"):
        page = browser.get("/protected", headers={"Accept": "application/json"})
    assert page.status_code == 503
    assert page.get_json()["error"] == "temporarily_unavailable"
    assert 1 <= int(page.headers["Retry-After"]) <= 12  # what Redis expects to take still, not a guess
    assert "Redis is still loading its data after a restart" in caplog.text
    wait_until_loaded(redis_server)
    assert browser.get("/protected").get_data(as_text=True).startswith("protected for 00u")
