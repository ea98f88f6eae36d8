"""README's sequence by hand: a mock Okta from the command line, then `flask okta token` against it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

APP = '''
import os
from flask import Flask
from flask_okta_client import OktaClient

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
OktaClient(app)
'''


@pytest.fixture
def mock_okta_by_hand() -> Iterator[str]:
    """``python -m flask_okta_client.testing.mock_server`` as README shows it, plus ``--scope``; yields the issuer."""
    process = subprocess.Popen(
        [sys.executable, "-m", "flask_okta_client.testing.mock_server", "--client-id", "0oa-by-hand",
         "--client-secret", "by-hand-secret-0123456789", "--redirect-uri",
         "http://127.0.0.1:5000/authorization-code/callback", "--scope", "api:read", "--scope", "api:write orders"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("Mock Okta issuer: "), process.stderr.read() if process.poll() is not None else line
        yield line.split()[3]
    finally:
        process.terminate()
        process.wait(timeout=10)


def okta_token(issuer: str, workdir: Path, *scopes: str) -> subprocess.CompletedProcess[str]:
    (workdir / "handmade.py").write_text(APP)
    env = {**os.environ, "OKTA_ISSUER": issuer, "OKTA_CLIENT_ID": "0oa-by-hand",
           "OKTA_CLIENT_SECRET": "by-hand-secret-0123456789", "SECRET_KEY": "k" * 64}
    arguments = [argument for scope in scopes for argument in ("--scope", scope)]
    return subprocess.run([sys.executable, "-m", "flask", "--app", "handmade", "okta", "token", *arguments],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=60)


def test_readme_token_command_gets_a_custom_scope_from_the_mock_run_by_hand(mock_okta_by_hand, tmp_path):
    result = okta_token(mock_okta_by_hand, tmp_path, "api:read")
    assert result.returncode == 0, result.stderr
    assert "Scope: api:read" in result.stdout


def test_space_separated_scopes_are_granted_too(mock_okta_by_hand, tmp_path):
    result = okta_token(mock_okta_by_hand, tmp_path, "api:write", "orders")
    assert result.returncode == 0, result.stderr
    assert "Scope: api:write orders" in result.stdout


def test_a_scope_not_given_is_still_refused(mock_okta_by_hand, tmp_path):
    result = okta_token(mock_okta_by_hand, tmp_path, "admin:all")
    assert result.returncode == 1 and "invalid_scope" in result.stderr
