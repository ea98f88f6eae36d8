"""Why an outbound call failed, in words an operator can act on (for logs and ``flask okta check``)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from http.client import RemoteDisconnected

import requests


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps: causes, contexts, urllib3's ``reason`` and exception args."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [getattr(current, "reason", None), current.__cause__, current.__context__, *current.args]
        pending.extend(item for item in wrapped if isinstance(item, BaseException))


def _tls_reason(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return f"the certificate was not accepted ({error.verify_message})"
    return f"the handshake failed ({error.reason or type(error).__name__})"


def describe_transport_error(exc: BaseException) -> str:
    """A short reason: the name did not resolve, TLS failed, refused, timed out, reset, …"""
    chain = list(causes(exc))

    def found(*kinds: type[BaseException]) -> BaseException | None:
        return next((error for error in chain if isinstance(error, kinds)), None)

    if found(requests.exceptions.ProxyError):
        return "the proxy could not be reached or refused the connection (check HTTPS_PROXY / NO_PROXY)"
    if tls_error := found(ssl.SSLError):
        return f"TLS failed: {_tls_reason(tls_error)}"  # type: ignore[arg-type]
    if found(requests.exceptions.SSLError):
        return "TLS failed"
    if found(socket.gaierror):
        return "the host name did not resolve (check the spelling and DNS)"
    if found(ConnectionRefusedError):
        return "the connection was refused (nothing listens on that host and port)"
    if found(requests.ConnectTimeout):
        return "the connection timed out (a firewall, or the host is down)"
    if found(requests.Timeout, TimeoutError, socket.timeout):
        return "it timed out waiting for an answer"
    if found(ConnectionResetError):
        return "the connection was reset"
    if found(RemoteDisconnected):
        return "the server closed the connection without answering"
    if found(requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema):
        return "the URL is not valid"
    return f"it could not be reached ({type(exc).__name__})"
