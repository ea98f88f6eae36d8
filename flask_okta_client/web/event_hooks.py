"""Okta event hooks: an endpoint Okta calls when events happen in the org.

``GET`` with ``X-Okta-Verification-Challenge`` is Okta's one-time verification,
answered with ``{"verification": <the challenge>}``. ``POST`` delivers a batch
of events as JSON. Both carry the shared secret in a header (``Authorization``
unless configured otherwise), checked in constant time. Each new event sends
the ``okta_event`` signal; chosen event types end the user's sign-ins through
the back-channel logout mechanism (the Okta user id is the ID token's ``sub``).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any

from flask import Response, current_app, jsonify, request

from .. import signals
from ..errors import NotAuthenticated, OktaError
from .backchannel import LogoutRequestError
from .decorators import public
from .providers import provider_state, signal_args
from .responses import API_REQUEST_KEY
from .views import no_store

log = logging.getLogger("flask_okta_client")

#: Event types that end the user's sign-ins unless ``end_sessions_on`` says otherwise.
DEFAULT_ENDING_EVENTS = ("user.lifecycle.deactivate", "user.session.end")
#: Okta sends at most 50 events per request; larger bodies are refused unread.
MAX_BODY_BYTES = 1024 * 1024
MAX_CHALLENGE_LENGTH = 512
MIN_EVENT_HOOK_SECRET_LENGTH = 16
#: Okta retries a delivery it did not see acknowledged; events are remembered this long to skip repeats.
EVENT_MEMORY_SECONDS = 3600
HOOK_EVENT_TYPE = "com.okta.event_hook"


class BadEventHookRequest(LogoutRequestError):
    """A delivery that is not shaped like Okta's (400)."""


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_entity(value: Any) -> bool:
    """An Okta actor or target: an object with a string ``id`` and ``type``."""
    return isinstance(value, dict) and _is_text(value.get("id")) and _is_text(value.get("type"))


def checked_events(body: Any) -> list[dict[str, Any]]:
    """The events of a delivery shaped like Okta's; :class:`BadEventHookRequest` otherwise."""
    if not isinstance(body, dict) or body.get("eventType") != HOOK_EVENT_TYPE:
        raise BadEventHookRequest(f"The body is not an Okta event hook delivery (eventType {HOOK_EVENT_TYPE}).")
    for name in ("eventTypeVersion", "cloudEventsVersion"):
        if not _is_text(body.get(name)):
            raise BadEventHookRequest(f"The delivery has no {name}.")
    data = body.get("data")
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        raise BadEventHookRequest("The delivery has no data.events list.")
    for event in events:
        if not isinstance(event, dict) or not _is_text(event.get("eventType")) or not _is_text(event.get("uuid")):
            raise BadEventHookRequest("Each event needs an eventType and a uuid.")
        target = event.get("target")
        if not _is_entity(event.get("actor")) or not (target is None or (
                isinstance(target, list) and all(_is_entity(t) for t in target))):
            raise BadEventHookRequest("Each event needs an actor and a list of targets (each with an id and type).")
    return events


def affected_user(event: Mapping[str, Any]) -> str | None:
    """The Okta user id an event is about: its ``User`` target, else a ``User`` actor."""
    for entity in [*(event.get("target") or []), event["actor"]]:
        if entity["type"] == "User":
            return entity["id"]
    return None


def make_event_hook_view(secret: str, header: str, end_sessions_on: Collection[str],
                         provider: str) -> Callable[[], Response]:
    """The hook's view; the sign-ins it ends are registration ``provider``'s."""
    expected = secret.encode()

    def event_hook() -> Response:
        request.environ[API_REQUEST_KEY] = True  # errors are JSON for Okta, never a page
        sent = request.headers.get(header, "").encode()
        if not hmac.compare_digest(sent, expected):
            log.warning("okta: event hook request without the shared secret")
            raise NotAuthenticated("The event hook secret is missing or wrong.")
        if request.method == "GET":
            return verification()
        state = provider_state(provider)
        for event in read_events():
            if state.logouts.first_use("okta-event", event["uuid"], EVENT_MEMORY_SECONDS):
                handle_event(state, event, end_sessions_on)
        return no_store(Response(status=200))

    return public(event_hook)


def verification() -> Response:
    challenge = request.headers.get("X-Okta-Verification-Challenge", "")
    if not challenge or len(challenge) > MAX_CHALLENGE_LENGTH:
        raise BadEventHookRequest("The verification request has no X-Okta-Verification-Challenge header.")
    return no_store(jsonify(verification=challenge))


def read_events() -> list[dict[str, Any]]:
    body = request.stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise BadEventHookRequest("The delivery is too large.", status=413)
    try:
        return checked_events(json.loads(body))
    except (ValueError, RecursionError):
        raise BadEventHookRequest("The delivery is not JSON.") from None


def handle_event(state: Any, event: dict[str, Any], end_sessions_on: Collection[str]) -> None:
    """Signal the event; end the user's sign-ins for the chosen types. Should that fail,
    the event is forgotten so Okta's retry is handled."""
    try:
        signals.okta_event.send(event["eventType"], app=current_app._get_current_object(), event=event,
                                **signal_args(state))
        user_id = affected_user(event)
        if event["eventType"] in end_sessions_on and user_id is not None:
            state.logouts.end(sid=None, sub=user_id)
            log.info("okta: %s ended the sign-ins of an Okta user", event["eventType"])
    except OktaError:
        state.logouts.forget_use("okta-event", event["uuid"])
        raise
