"""okta.event_hook: Okta's verification, the shared secret, the body's shape, signals, ending sign-ins."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask

from flask_okta_client import OktaClient, signals
from flask_okta_client.errors import ConfigError
from flask_okta_client.testing.tokens import test_subject as okta_user_id
from tests.site import make_site, sign_in

SECRET = "event-hook-secret-0123456789"
AUTH = {"Authorization": SECRET}


def okta_event(event_type: str, user_id: str, *, actor_is_user: bool = False) -> dict[str, Any]:
    """One event as Okta's System Log shapes it."""
    user = {"id": user_id, "type": "User", "alternateId": "alice@example.com", "displayName": "Alice",
            "detailEntry": None}
    admin = {"id": "00uadmin1", "type": "User", "alternateId": "admin@example.com", "displayName": "Admin",
             "detailEntry": None}
    return {
        "uuid": str(uuid.uuid4()),
        "published": "2026-11-29T21:00:00.000Z",
        "eventType": event_type,
        "version": "0",
        "displayMessage": "Deactivate Okta user",
        "severity": "INFO",
        "client": {"userAgent": {"rawUserAgent": "Mozilla/5.0"}, "ipAddress": "10.0.0.1"},
        "actor": user if actor_is_user else admin,
        "outcome": {"result": "SUCCESS", "reason": None},
        "target": None if actor_is_user else [user],
        "transaction": {"type": "WEB", "id": "XOZfPk", "detail": {}},
        "debugContext": {"debugData": {"requestUri": "/api/v1/users/x/lifecycle/deactivate"}},
        "legacyEventType": "core.user.config.user_deactivated",
        "authenticationContext": {"authenticationStep": 0, "externalSessionId": "trs1"},
        "securityContext": {},
    }


def delivery(*events: dict[str, Any]) -> dict[str, Any]:
    """An event hook request body as Okta sends it."""
    return {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": "https://dev-123.okta.com/api/v1/eventHooks/who8tc3ehdOzJ0Ev11d6",
        "eventId": str(uuid.uuid4()),
        "data": {"events": list(events)},
        "eventTime": "2026-11-29T21:00:01.000Z",
        "contentType": "application/json",
    }


def hooked_site(settings: dict[str, Any], **kwargs: Any) -> Flask:
    app = make_site(settings, OKTA_EVENT_HOOK_SECRET=SECRET)
    OktaClient().event_hook(app, "/hooks/okta", **kwargs)
    return app


def post(app: Flask, body: Any, headers: dict[str, str] | None = None) -> Any:
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return app.test_client().post("/hooks/okta", data=data, content_type="application/json",
                                  headers=AUTH if headers is None else headers)


def test_answers_the_one_time_verification(okta_settings):
    app = hooked_site(okta_settings)
    response = app.test_client().get("/hooks/okta", headers={**AUTH, "X-Okta-Verification-Challenge": "Me_rShK8"})
    assert response.status_code == 200
    assert response.get_json() == {"verification": "Me_rShK8"}


def test_verification_needs_the_secret(okta_settings):
    app = hooked_site(okta_settings)
    response = app.test_client().get("/hooks/okta", headers={"X-Okta-Verification-Challenge": "Me_rShK8"})
    assert response.status_code == 401
    assert "Me_rShK8" not in response.get_data(as_text=True)


def test_verification_without_a_challenge_is_refused(okta_settings):
    app = hooked_site(okta_settings)
    assert app.test_client().get("/hooks/okta", headers=AUTH).status_code == 400


@pytest.mark.parametrize("headers", [{}, {"Authorization": "wrong"}, {"Authorization": SECRET + "x"},
                                     {"Authorization": f"Bearer {SECRET}"}, {"X-Other": SECRET}])
def test_a_wrong_or_missing_secret_is_refused(okta_settings, headers):
    app = hooked_site(okta_settings)
    received = []
    with signals.okta_event.connected_to(lambda sender, **kw: received.append(sender)):
        response = post(app, delivery(okta_event("user.lifecycle.create", "00u1")), headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert received == []


def test_a_custom_header_carries_the_secret(okta_settings):
    app = hooked_site(okta_settings, header="X-Hook-Key")
    assert post(app, delivery(), {"X-Hook-Key": SECRET}).status_code == 200
    assert post(app, delivery(), AUTH).status_code == 401


def test_sends_a_signal_per_event_with_its_type_as_sender(okta_settings):
    app = hooked_site(okta_settings)
    created, every = [], []
    create = okta_event("user.lifecycle.create", "00u1")
    suspend = okta_event("user.lifecycle.suspend", "00u2")
    with signals.okta_event.connected_to(lambda sender, **kw: created.append(kw["event"]), "user.lifecycle.create"), \
            signals.okta_event.connected_to(lambda sender, **kw: every.append((sender, kw["app"]))):
        response = post(app, delivery(create, suspend))
    assert response.status_code == 200
    assert response.get_data() == b""
    assert created == [create]
    assert every == [("user.lifecycle.create", app), ("user.lifecycle.suspend", app)]


def test_a_repeated_delivery_signals_each_event_once(okta_settings):
    app = hooked_site(okta_settings)
    body = delivery(okta_event("user.lifecycle.create", "00u1"))
    received = []
    with signals.okta_event.connected_to(lambda sender, **kw: received.append(sender)):
        assert post(app, body).status_code == 200
        assert post(app, body).status_code == 200
    assert received == ["user.lifecycle.create"]


def broken(change: Any) -> dict[str, Any]:
    body = delivery(okta_event("user.lifecycle.deactivate", "00u1"))
    change(body)
    return body


@pytest.mark.parametrize("body", [
    "not json",
    "[]",
    broken(lambda b: b.update(eventType="com.okta.inline_hook")),
    broken(lambda b: b.pop("eventTypeVersion")),
    broken(lambda b: b.pop("cloudEventsVersion")),
    broken(lambda b: b.pop("data")),
    broken(lambda b: b["data"].update(events={"0": {}})),
    broken(lambda b: b["data"]["events"].append("event")),
    broken(lambda b: b["data"]["events"][0].pop("eventType")),
    broken(lambda b: b["data"]["events"][0].pop("uuid")),
    broken(lambda b: b["data"]["events"][0].pop("actor")),
    broken(lambda b: b["data"]["events"][0].update(target={"id": "00u1", "type": "User"})),
    broken(lambda b: b["data"]["events"][0]["target"][0].pop("id")),
    broken(lambda b: b["data"]["events"][0]["target"][0].update(type=7)),
    "[" * 100_000,
])
def test_a_body_not_shaped_like_okta_s_is_refused(okta_settings, body):
    app = hooked_site(okta_settings)
    response = post(app, body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_a_huge_body_is_refused(okta_settings):
    app = hooked_site(okta_settings)
    body = delivery(*[okta_event("user.lifecycle.create", "00u1")] * 2)
    body["padding"] = "x" * (1024 * 1024)
    assert post(app, body).status_code == 413


def test_the_hook_needs_a_long_enough_secret(okta_settings):
    app = make_site(okta_settings, OKTA_EVENT_HOOK_SECRET="short")
    with pytest.raises(ConfigError, match="OKTA_EVENT_HOOK_SECRET"):
        OktaClient().event_hook(app)


def test_the_hook_stays_open_when_every_view_needs_a_sign_in(okta_settings):
    app = make_site(okta_settings, OKTA_EVENT_HOOK_SECRET=SECRET, OKTA_REQUIRE_LOGIN=True)
    OktaClient().event_hook(app)
    assert post(app, delivery()).status_code == 200


# -- ending sign-ins ----------------------------------------------------------


@pytest.mark.parametrize(("event_type", "actor_is_user"), [("user.lifecycle.deactivate", False),
                                                           ("user.session.end", True)])
def test_deactivation_and_session_end_sign_the_user_out(okta_settings, okta_mock_server, event_type, actor_is_user):
    app = hooked_site(okta_settings)
    alice, bob = app.test_client(), app.test_client()
    sign_in(alice, okta_mock_server, "alice")
    sign_in(bob, okta_mock_server, "bob")
    assert post(app, delivery(okta_event(event_type, okta_user_id("alice"), actor_is_user=actor_is_user))).status_code == 200
    assert alice.get("/").get_data(as_text=True) == "home anonymous"
    assert bob.get("/").get_data(as_text=True) != "home anonymous"


def test_other_event_types_end_nothing(okta_settings, okta_mock_server):
    app = hooked_site(okta_settings)
    alice = app.test_client()
    sign_in(alice, okta_mock_server, "alice")
    assert post(app, delivery(okta_event("user.lifecycle.suspend", okta_user_id("alice")))).status_code == 200
    assert alice.get("/").get_data(as_text=True) != "home anonymous"


def test_ending_can_be_switched_off(okta_settings, okta_mock_server):
    app = hooked_site(okta_settings, end_sessions_on=())
    alice = app.test_client()
    sign_in(alice, okta_mock_server, "alice")
    post(app, delivery(okta_event("user.lifecycle.deactivate", okta_user_id("alice"))))
    assert alice.get("/").get_data(as_text=True) != "home anonymous"


def test_deactivation_ends_sign_ins_on_another_instance_through_redis(okta_settings, okta_mock_server, redis_url):
    settings = {**okta_settings, "OKTA_TOKEN_STORE": redis_url, "OKTA_EVENT_HOOK_SECRET": SECRET}
    a, b = make_site(settings), make_site(settings)
    for instance in (a, b):
        OktaClient().event_hook(instance)
    browser = a.test_client()
    sign_in(browser, okta_mock_server, "alice")
    event = okta_event("user.lifecycle.deactivate", okta_user_id("alice"))
    assert post(b, delivery(event)).status_code == 200
    assert browser.get("/").get_data(as_text=True) == "home anonymous"


def test_a_delivery_answered_503_because_the_store_was_down_is_handled_anew_when_retried(
        okta_settings, okta_mock_server, redis_url, redis_server):
    """The event's uuid is not kept as seen when ending the sign-ins failed (the logout cache up, the store down)."""
    app = make_site(okta_settings, OKTA_TOKEN_STORE=redis_server.url, OKTA_LOGOUT_CACHE=redis_url,
                    OKTA_EVENT_HOOK_SECRET=SECRET)
    OktaClient().event_hook(app, "/hooks/okta")
    alice = app.test_client()
    sign_in(alice, okta_mock_server, "alice")
    body = delivery(okta_event("user.lifecycle.deactivate", okta_user_id("alice")))
    redis_server.stop()
    answer = post(app, body)
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    redis_server.start()
    assert alice.get("/").get_data(as_text=True) != "home anonymous"  # nothing ended yet
    received = []
    with signals.okta_event.connected_to(lambda sender, **extra: received.append(sender)):
        assert post(app, body).status_code == 200  # Okta's retry
        assert post(app, body).status_code == 200  # a retry of a handled delivery: skipped
    assert received == ["user.lifecycle.deactivate"]
    assert alice.get("/").get_data(as_text=True) == "home anonymous"
