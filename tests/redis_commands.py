"""What an action asks of a real redis-server, seen through MONITOR, and waiting for a store's copies."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from tests.waiting import wait_for


def commands_during(url: str, action: Callable[[], Any]) -> list[str]:
    """The command names (upper case) that ``action`` sends to the server at ``url``, in order.

    The invalidation listeners' own connections (subscribed: they only ping) are left out.
    """
    import redis

    server, echoer = redis.Redis.from_url(url), redis.Redis.from_url(url)
    listeners = {client["addr"] for client in server.client_list() if "P" in client["flags"]}
    echoer.ping()  # connected before watching
    marker = f"end-of-action-{secrets.token_hex(8)}"
    seen: list[str] = []
    with server.monitor() as monitor:
        action()
        echoer.echo(marker)
        for event in monitor.listen():
            words = event["command"].split()
            if words[:2] == ["ECHO", marker]:
                return seen
            address = f"{event['client_address']}:{event['client_port']}"
            if address not in listeners:
                seen.append(words[0].upper())
    return seen


def wait_until_live(store: Any) -> None:
    """Until the store's copies are handed out in this process (its listener, started by a first read,
    tracks)."""
    wait_for(lambda: store.copies.live, "the token store's invalidation listener")
