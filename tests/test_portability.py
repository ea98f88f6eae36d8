"""The package works where POSIX-only modules do not exist (Windows): no fcntl, no os.fchmod."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from flask_okta_client.cli import okta_cli
from flask_okta_client.sessions.cookie import SignInCookie
from flask_okta_client.sessions.server_store import StoreUnavailable
from tests.site import make_site

ROOT = Path(__file__).resolve().parent.parent

WITHOUT_FCNTL = """
import sys
sys.modules["fcntl"] = None  # what Windows has: importing it raises ImportError
from flask import Flask
import flask_okta_client
import flask_okta_client.testing.pytest_plugin
from flask_okta_client import OktaClient

app = Flask(__name__)
app.config.update(SECRET_KEY="s" * 32, TESTING=True, OKTA_ISSUER="https://example.okta.com/oauth2/default",
                  OKTA_CLIENT_ID="0oa-client", OKTA_TOKEN_STORE=sys.argv[1])
OktaClient(app)
with app.test_request_context():
    from flask_okta_client.sessions.cookie import SignInCookie
    with app.extensions["okta"].store.refresh_lock(SignInCookie("h" * 43)):
        print("locked")
"""


def test_package_imports_and_the_directory_store_locks_without_fcntl(tmp_path):
    result = subprocess.run([sys.executable, "-c", WITHOUT_FCNTL, str(tmp_path / "tokens")], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "locked"


def test_directory_store_answers_busy_when_another_refresh_holds_the_lock(okta_settings, tmp_path):
    app = make_site(okta_settings, OKTA_TOKEN_STORE=str(tmp_path / "tokens"), OKTA_HTTP_TIMEOUT=0.1)
    store = app.extensions["okta"].store
    store.lock_timeout = 0.2
    cookie = SignInCookie("a" * 43)  # one sign-in's handle
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.refresh_lock(cookie):
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    outcome: list[BaseException | None] = []

    def contend() -> None:
        try:
            with store.refresh_lock(cookie):
                outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome.append(exc)

    try:
        assert holding.wait(10)
        contender = threading.Thread(target=contend, daemon=True)
        contender.start()
        contender.join(10)
        assert outcome and isinstance(outcome[0], StoreUnavailable)
    finally:
        release.set()
        holder.join(10)


def test_keygen_writes_the_key_where_os_has_no_fchmod(tmp_path, monkeypatch):
    monkeypatch.delattr("os.fchmod", raising=False)
    result = CliRunner().invoke(okta_cli, ["keygen", "--out", str(tmp_path / "key.pem")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "key.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_keygen_replaces_a_readable_key_file_with_an_owner_only_one(tmp_path):
    path = tmp_path / "key.pem"
    path.write_text("old")
    path.chmod(0o644)
    result = CliRunner().invoke(okta_cli, ["keygen", "--out", str(path), "--force"])
    assert result.exit_code == 0, result.output
    assert path.stat().st_mode & 0o777 == 0o600
