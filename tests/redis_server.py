"""A real redis-server on a free loopback port, which a test can stop and start again."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.components import require_component


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """``start()``, ``stop()`` and ``start()`` again, on the same port.

    With ``persist``, redis-server saves its data when stopped and loads it when started again.
    """

    def __init__(self, workdir: Path, *, persist: bool = False) -> None:
        executable = shutil.which("redis-server")
        require_component(executable is not None, "redis-server is not installed (Debian package redis-server)")
        self.executable = executable
        self.workdir = workdir
        self.port = free_port()
        self.persist = persist
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *options: str) -> RedisServer:
        """Start redis-server (with these further command-line ``options``); return once it accepts connections."""
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "3600 1" if self.persist else "",
             "--appendonly", "no",
             "--dir", str(self.workdir), *options],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.process.kill()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
