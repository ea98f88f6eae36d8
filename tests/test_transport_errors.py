"""An unreachable provider is logged with the reason: name, TLS, refused, timed out, hung up."""

from __future__ import annotations

import logging
import socket

import pytest

from flask_okta_client.errors import ProviderUnavailable
from flask_okta_client.protocol.http import HttpClient
from tests.transport_faults import (
    closed_port,
    hang_up_after_the_request,
    loopback_listener,
    never_answer,
    self_signed_context,
    tls_handshake,
)


def failure_logged_for(url: str, caplog: pytest.LogCaptureFixture, timeout: float = 2.0) -> str:
    caplog.set_level(logging.WARNING, logger="flask_okta_client")
    client = HttpClient(timeout)
    client.session.trust_env = False
    with pytest.raises(ProviderUnavailable):
        client.get_json(url)
    (record,) = [r for r in caplog.records if r.name == "flask_okta_client"]
    return record.getMessage()


def test_refused_connection_is_named(caplog):
    message = failure_logged_for(f"http://127.0.0.1:{closed_port()}/.well-known/openid-configuration", caplog)
    assert "the connection was refused" in message


def test_unresolvable_host_name_is_named(caplog, monkeypatch):
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    message = failure_logged_for("https://dev-123.okta.example/.well-known/openid-configuration", caplog)
    assert "the host name did not resolve" in message


def test_untrusted_certificate_is_named(caplog, tmp_path):
    with loopback_listener(tls_handshake(self_signed_context(tmp_path))) as port:
        message = failure_logged_for(f"https://127.0.0.1:{port}/.well-known/openid-configuration", caplog)
    assert "TLS failed: the certificate was not accepted" in message
    assert "self-signed" in message or "self signed" in message


def test_silent_server_is_a_timeout(caplog):
    with loopback_listener(never_answer) as port:
        message = failure_logged_for(f"http://127.0.0.1:{port}/keys", caplog, timeout=0.3)
    assert "timed out waiting for an answer" in message


def test_server_hanging_up_is_named(caplog):
    with loopback_listener(hang_up_after_the_request) as port:
        message = failure_logged_for(f"http://127.0.0.1:{port}/keys", caplog)
    assert "closed the connection without answering" in message or "connection was reset" in message


def test_the_log_names_the_endpoint_without_its_query(caplog):
    port = closed_port()
    message = failure_logged_for(f"http://127.0.0.1:{port}/keys?secret=s3cr3t", caplog)
    assert f"http://127.0.0.1:{port}/keys failed" in message and "s3cr3t" not in message
