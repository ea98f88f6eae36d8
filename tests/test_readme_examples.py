"""Every Python example of README runs as written, in an app like the one it assumes, without leaving loopback.

The example of "Testing your app" is run as a test suite by tests/test_testing_plugin.py.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from pathlib import Path

import pytest

from flask_okta_client.sessions.storage import SignedInUser
from flask_okta_client.testing.tokens import TEST_CLIENT_ID, TestTokens, store_sign_in

ROOT = Path(__file__).resolve().parent.parent
#: What the examples take for granted: the app, imports, and the helpers they call but do not define.
PRELUDE = '''
import os
from flask import Flask, redirect, render_template, request, url_for
from flask_okta_client import OktaClient, bearer_token_required, login_required, signals

def get_locale(): return "fr"
def create_account(user_id): pass
def has_profile(sub): return True

class StatusView:
    @classmethod
    def as_view(cls, name):
        return lambda: "ok"

app = Flask("readme_example", root_path=ROOT_PATH)
app.config.update(SETTINGS)
'''


def python_examples() -> list[tuple[int, str]]:
    """(line, code) of README's Python examples, but the one of "Testing your app"."""
    readme = (ROOT / "README.md").read_text()
    testing = readme.index("## Testing your app")
    return [(readme.count("\n", 0, match.start()) + 2, match.group(1))
            for match in re.finditer(r"```python\n(.*?)```", readme, re.DOTALL)
            if not testing < match.start() < readme.index("\n## ", testing + 1)]


@pytest.fixture
def loopback_only(monkeypatch):
    """Name lookups of any host but loopback fail, as they would for an example that calls out at start-up."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        answers = real(host, *args, **kwargs) if host in ("localhost", None) or _is_ip(host) else []
        if not answers or not all(ipaddress.ip_address(a[4][0]).is_loopback for a in answers):
            raise socket.gaierror(f"{host}: a README example tried to leave loopback")
        return answers

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _is_ip(host: str | bytes) -> bool:
    try:
        ipaddress.ip_address(host if isinstance(host, str) else host.decode())
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("line, code", python_examples(), ids=lambda value: f"line {value}"
                         if isinstance(value, int) else "")
def test_readme_example_runs(line, code, okta_settings, monkeypatch, tmp_path, loopback_only):
    monkeypatch.setenv("SECRET_KEY", "s" * 64)
    monkeypatch.setenv("OKTA_EVENT_HOOK_SECRET", "a shared secret of Okta's")
    if "app = Flask(" not in code:
        settings = {**okta_settings, "SECRET_KEY": "s" * 64}
        prelude = PRELUDE.replace("SETTINGS", repr(settings)).replace("ROOT_PATH", repr(str(tmp_path)))
        code = prelude + ("" if "OktaClient(app" in code else "okta = OktaClient(app)\n") + code
    exec(compile(code, f"README.md, example at line {line}", "exec"), {"__name__": "readme_example"})


def test_the_protecting_pages_example_refuses_a_user_without_the_claim_it_checks(okta_settings, okta_mock_server,
                                                                                 tmp_path):
    """Its ``check`` reads ``email``: a sign-in without that claim is refused with 403, not a 500."""
    (line, code), = [(line, code) for line, code in python_examples() if "claims_include" in code]
    namespace = {"__name__": "readme_example"}
    settings = {**okta_settings, "SECRET_KEY": "s" * 64}
    exec(PRELUDE.replace("SETTINGS", repr(settings)).replace("ROOT_PATH", repr(str(tmp_path)))
         + "okta = OktaClient(app)\n" + code, namespace)
    app = namespace["app"]
    tokens = TestTokens(okta_mock_server)
    now = int(time.time())
    id_token = okta_mock_server.sign({"iss": okta_mock_server.issuer, "aud": TEST_CLIENT_ID, "sub": "00u1",
                                      "iat": now, "exp": now + 3600, "name": "Ann", "department": "R&D",
                                      "amr": ["pwd", "mfa"]})
    client = app.test_client()
    store_sign_in(client, SignedInUser(id_token=id_token, access_token=tokens.access_token(),
                                       expires_at=now + 3600))
    assert client.get("/beta").status_code == 403
