"""What an action asks of a real redis-server, seen through its MONITOR feed, and waiting for a store's copies."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

from tests.waiting import wait_for

#: Commands that name no key.
KEYLESS = frozenset({"PING", "INFO", "ECHO", "CLIENT", "SCRIPT", "HELLO", "SELECT", "MULTI", "EXEC", "AUTH",
                     "CONFIG", "COMMAND", "MONITOR", "DISCARD", "UNWATCH", "SUBSCRIBE"})  # SUBSCRIBE names channels
#: Commands whose every argument is a key.
ALL_KEYS = frozenset({"DEL", "UNLINK", "MGET", "EXISTS", "TOUCH", "WATCH"})


def command_keys(words: list[str]) -> list[str]:
    name, args = words[0].upper(), words[1:]
    if name in KEYLESS:
        return []
    if name in ("EVAL", "EVALSHA"):
        return args[2:2 + int(args[1])]
    if name in ALL_KEYS:
        return args
    return args[:1]


def commands_sent(url: str, action: Callable[[], Any]) -> Iterator[list[str]]:
    """The words of each command ``action`` sends to the server at ``url``, in order.

    The invalidation listeners' own connections (subscribed: they only ping) are left out.
    """
    import redis

    server, echoer = redis.Redis.from_url(url), redis.Redis.from_url(url)
    listeners = {client["addr"] for client in server.client_list() if "P" in client["flags"]}
    echoer.ping()  # connected before watching
    marker = f"end-of-action-{secrets.token_hex(8)}"
    with server.monitor() as monitor:
        action()
        echoer.echo(marker)  # the feed is in order: everything before the marker was sent before it
        for event in monitor.listen():
            words = event["command"].split()
            if words[:2] == ["ECHO", marker]:
                return
            if words and f"{event['client_address']}:{event['client_port']}" not in listeners:
                yield words  # redis-py parses some MONITOR lines to no command at all


def commands_during(url: str, action: Callable[[], Any]) -> list[str]:
    """The command names (upper case) that ``action`` sends to the server at ``url``, in order."""
    return [words[0].upper() for words in commands_sent(url, action)]


def keys_named_during(url: str, action: Callable[[], Any]) -> set[str]:
    """Every key the commands ``action`` sends to the server at ``url`` name."""
    return {key for words in commands_sent(url, action) for key in command_keys(words)}


def wait_until_live(store: Any) -> None:
    """Until the store's copies are handed out in this process (its listener, started by a first read,
    tracks)."""
    wait_for(lambda: store.copies.live, "the token store's invalidation listener")
