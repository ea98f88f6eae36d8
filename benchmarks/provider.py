"""A tiny loopback OpenID Connect issuer for the benchmarks.

It serves ``/oauth2/default/.well-known/openid-configuration`` and the JWKS at
``/oauth2/default/v1/keys`` (Okta's path, which okta-jwt-verifier hard-codes)
over HTTPS with a throwaway self-signed certificate, counts every fetch by
User-Agent, and mints Okta-shaped RS256 access tokens with ``cryptography``.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import ssl
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

AUTH_SERVER_PATH = "/oauth2/default"
AUDIENCE = "api://default"
CLIENT_ID = "0oabenchclient"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def self_signed_certificate(directory: str) -> tuple[str, str]:
    """A throwaway certificate for 127.0.0.1 (and localhost); returns (cert file, key file)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = os.path.join(directory, "issuer-cert.pem")
    key_path = os.path.join(directory, "issuer-key.pem")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return cert_path, key_path


class LoopbackIssuer:
    """Start with :meth:`start`; ``issuer`` is then ``https://127.0.0.1:PORT/oauth2/default``."""

    def __init__(self) -> None:
        self.tmpdir = tempfile.TemporaryDirectory(prefix="okta-bench-")
        self.cert_file, self.cert_key_file = self_signed_certificate(self.tmpdir.name)
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self.signing_key.public_key()
        self.kid = "bench-" + uuid.uuid4().hex[:12]
        numbers = self.public_key.public_numbers()
        self.public_jwk: dict[str, Any] = {
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
            "n": _uint(numbers.n), "e": _uint(numbers.e),
        }
        self.fetches: Counter[tuple[str, str]] = Counter()  # (path, user agent) -> count
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.issuer = ""

    # -- serving -------------------------------------------------------------

    def start(self) -> "LoopbackIssuer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                with owner._lock:
                    owner.fetches[(self.path, self.headers.get("User-Agent", ""))] += 1
                if self.path == AUTH_SERVER_PATH + "/.well-known/openid-configuration":
                    body = owner.discovery_document()
                elif self.path == AUTH_SERVER_PATH + "/v1/keys":
                    body = {"keys": [owner.public_jwk]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # silence
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.cert_key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.issuer = f"https://127.0.0.1:{server.server_address[1]}{AUTH_SERVER_PATH}"
        threading.Thread(target=server.serve_forever, name="loopback-issuer", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.tmpdir.cleanup()

    def discovery_document(self) -> dict[str, Any]:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": base + "/v1/authorize",
            "token_endpoint": base + "/v1/token",
            "jwks_uri": base + "/v1/keys",
            "introspection_endpoint": base + "/v1/introspect",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    @property
    def jwks_uri(self) -> str:
        return self.issuer + "/v1/keys"

    def jwks_fetches(self, user_agent_prefix: str) -> int:
        with self._lock:
            return sum(n for (path, ua), n in self.fetches.items()
                       if path.endswith("/v1/keys") and ua.startswith(user_agent_prefix))

    # -- tokens --------------------------------------------------------------

    def mint(self, *, scopes: tuple[str, ...] = ("messages:read",), lifetime: int = 3600) -> str:
        """An Okta-shaped access token, RS256-signed with the published key."""
        now = int(time.time())
        header = {"kid": self.kid, "alg": "RS256"}
        claims = {
            "ver": 1,
            "jti": "AT." + uuid.uuid4().hex,
            "iss": self.issuer,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + lifetime,
            "cid": CLIENT_ID,
            "uid": "00u" + uuid.uuid4().hex[:17],
            "scp": list(scopes),
            "auth_time": now,
            "sub": "bench.user@example.com",
        }
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + b64url(json.dumps(claims, separators=(",", ":")).encode()))
        signature = self.signing_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)
