"""A loopback TCP proxy whose connections a test can freeze: bytes stop flowing, nothing is closed
(a connection that dies without a word, as across a network partition)."""

from __future__ import annotations

import socket
import threading


class FreezableProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target``; :meth:`freeze` silences one connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.upstream_ports: list[int] = []  # each connection's local port towards the target (as it sees them)
        self.frozen: set[int] = set()
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self, upstream_port: int) -> None:
        self.frozen.add(upstream_port)

    def close(self) -> None:
        self.listener.close()
        for sock in self.sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [downstream, upstream]
            port = upstream.getsockname()[1]
            self.upstream_ports.append(port)
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, sink, port), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, port: int) -> None:
        try:
            while data := source.recv(65536):
                if port in self.frozen:
                    continue  # swallowed: neither side hears from the other again
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
