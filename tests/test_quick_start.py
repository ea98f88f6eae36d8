"""README's quick start as a user runs it: `make demo`'s own recipe serves the sample site on loopback, with the
embedded mock Okta server when no org is configured, and a sign-in works."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from flask_okta_client.testing.mock_server import _PENDING_FIELD
from tests.components import require_component
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def make_demo(tmp_path):
    """`make demo` on a free port with this interpreter's environment (installed already: the stamp is
    newer than pyproject.toml), no OKTA_* settings and no SECRET_KEY; yields (origin, its output so far)."""
    make = shutil.which("make")
    require_component(make is not None, "make is not installed")
    stamp = tmp_path / "installed"
    stamp.touch()
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("OKTA_") and key not in ("SECRET_KEY", "FLASK_APP")}
    demo = subprocess.Popen([make, "demo", f"VENV={Path(sys.executable).parent.parent}", f"INSTALLED={stamp}",
                             f"PORT={port}"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(demo.stdout), daemon=True)
    reader.start()
    try:
        yield f"http://127.0.0.1:{port}", output
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=15)
        reader.join(timeout=5)


def page(session: requests.Session, url: str) -> requests.Response:
    try:
        return session.get(url, timeout=5)
    except requests.ConnectionError:
        return requests.Response()


def test_make_demo_serves_the_sample_site_signing_in_at_the_embedded_mock_okta(make_demo):
    origin, output = make_demo
    browser = requests.Session()
    browser.trust_env = False  # never through a proxy: stay on loopback
    wait_for(lambda: page(browser, origin + "/").status_code == 200, "the demo to answer", limit=60)
    assert "embedded mock Okta server" in "".join(output)  # the banner
    assert "embedded mock Okta server" in browser.get(origin + "/").text

    authorize = browser.get(origin + "/login?next=/profile", allow_redirects=False).headers["Location"]
    sign_in_page = browser.get(authorize, allow_redirects=False)
    assert sign_in_page.status_code == 200, sign_in_page.text  # the mock knows the demo's redirect URI
    pending = _PENDING_FIELD.search(sign_in_page.text).group(1)
    profile = browser.post(authorize.split("?")[0], data={"pending": pending, "username": "anyone"})

    assert profile.url == origin + "/profile"
    assert re.search(r"anyone@example\.com", profile.text)
