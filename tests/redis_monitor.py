"""What a real redis-server was asked, from its MONITOR feed: the keys every command named."""

from __future__ import annotations

import secrets

#: Commands that name no key.
KEYLESS = frozenset({"PING", "INFO", "ECHO", "CLIENT", "SCRIPT", "HELLO", "SELECT", "MULTI", "EXEC", "AUTH",
                     "CONFIG", "COMMAND", "MONITOR", "DISCARD", "UNWATCH"})
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


class KeysNamed:
    """Opened before the actions to watch; :meth:`keys` then tells every key named since."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, decode_responses=True)
        self.monitor = self.client.monitor()
        self.monitor.__enter__()

    def keys(self) -> set[str]:
        marker = f"end-of-watch-{secrets.token_hex(8)}"
        self.client.echo(marker)  # the feed is in order: everything before the marker was sent before it
        keys: set[str] = set()
        while marker not in (command := self.monitor.next_command()["command"]):
            keys.update(command_keys(command.split(" ")))
        return keys

    def close(self) -> None:
        self.monitor.__exit__(None, None, None)
        self.client.close()
