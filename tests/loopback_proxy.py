"""A TCP proxy on 127.0.0.1 in front of a real server, to make it stall or reset connections.

    proxy = LoopbackProxy(upstream_port).start()
    with proxy.stalled():        # bytes both ways are held (the server seems to hang) ...
        ...                      # ... and delivered when the block ends
    with proxy.resetting():      # every connection is reset (TCP RST) at its next byte
        ...
    proxy.freeze(port)           # one connection goes silent for good, nothing closed (a partition)
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

CHUNK = 65536


def reset(connection: socket.socket) -> None:
    """Close with a TCP reset rather than a FIN."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    connection.close()


class LoopbackProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._flowing = threading.Event()
        self._flowing.set()
        self._resetting = False
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        #: Each connection's local port towards the server (as the server sees it), in order.
        self.upstream_ports: list[int] = []
        self._frozen: set[int] = set()

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LoopbackProxy:
        threading.Thread(target=self._accept, name="loopback-proxy", daemon=True).start()
        return self

    def close(self) -> None:
        self._flowing.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            for connection in list(self._connections):
                connection.close()

    @contextmanager
    def stalled(self) -> Iterator[None]:
        """Hold every byte, both ways, until the block ends; then deliver them."""
        self._flowing.clear()
        try:
            yield
        finally:
            self._flowing.set()

    @contextmanager
    def resetting(self) -> Iterator[None]:
        """Reset every connection at its next byte, and new connections at once."""
        self._resetting = True
        try:
            yield
        finally:
            self._resetting = False

    def freeze(self, upstream_port: int) -> None:
        """Swallow every byte of that connection from now on, both ways, and close nothing."""
        self._frozen.add(upstream_port)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._resetting:
                reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                reset(client)
                continue
            port = upstream.getsockname()[1]
            with self._lock:
                self._connections.update((client, upstream))
                self.upstream_ports.append(port)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target, port), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, port: int) -> None:
        try:
            while data := source.recv(CHUNK):
                self._flowing.wait()
                if port in self._frozen:
                    continue
                if self._resetting:
                    reset(source)
                    reset(target)
                    return
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)
        except OSError:
            source.close()
            target.close()
        finally:
            with self._lock:
                self._connections.discard(source)
