"""The pytest plugin as a user's project meets it: README's example verbatim, the app's audience."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.providers_site import (
    add_staff_client,
    make_two_provider_site,
    staff_settings,
)
from tests.site import make_site

ROOT = Path(__file__).resolve().parent.parent

USER_APP = '''
from flask import Flask, jsonify
from flask_okta_client import OktaClient, bearer_token_required, current_token, login_required


def create_app(config):
    app = Flask(__name__)
    app.config.update(config)
    OktaClient(app)

    @app.get("/reports")
    @login_required(groups=["Finance"])
    def reports():
        return "reports"

    @app.get("/api/messages")
    @bearer_token_required(scopes=["messages:read"])
    def messages():
        return jsonify(sub=current_token["sub"])

    return app
'''


def readme_testing_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Testing your app"):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.fixture
def user_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with README's test file, its app factory in myapp.py."""
    pytester.makepyfile(myapp=USER_APP)
    pytester.makepyfile(test_readme="import pytest\nfrom myapp import create_app\n\n" + readme_testing_example())
    return pytester


def test_readme_example_passes_without_pytest_flask(user_project):
    result = user_project.runpytest_subprocess("-p", "no:flask", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_readme_example_passes_with_pytest_flask(user_project):
    pytest.importorskip("pytest_flask")
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


class TestAnAppWithItsOwnAudience:
    @pytest.fixture
    def app(self, okta_settings):
        return make_site(okta_settings, OKTA_AUDIENCE="api://orders")

    def test_okta_access_token_is_minted_for_the_apps_audience(self, client, okta_access_token):
        token = okta_access_token(scopes=["messages:read"])
        assert client.get("/api/messages", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    def test_signed_in_client_carries_an_access_token_for_the_apps_audience(self, app, client, okta_sign_in):
        user = okta_sign_in(client, "ann")
        with app.test_request_context():
            verified = app.extensions["okta"].access_tokens.validate(user.access_token)
        assert verified.claims["aud"] == "api://orders"

    def test_token_for_another_audience_is_refused_naming_the_expected_one(self, client, okta_access_token):
        token = okta_access_token(scopes=["messages:read"], audience="api://default")
        response = client.get("/api/messages", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert "api://orders" in response.json["error_description"]


class TestAnAppWithASecondProvider:
    """The fixtures with ``provider=``: a second registration (another client of the mock server)."""

    @pytest.fixture
    def app(self, okta_settings, okta_mock_server):
        return make_two_provider_site({**okta_settings,
                                       **staff_settings(okta_mock_server, add_staff_client(okta_mock_server))})

    def test_okta_access_token_is_minted_for_the_named_provider_s_audience(self, client, okta_access_token):
        token = okta_access_token(provider="staff")
        assert client.get("/api/staff", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert client.get("/api/customers", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    def test_okta_sign_in_signs_in_with_the_named_provider(self, client, okta_sign_in):
        user = okta_sign_in(client, "ann", provider="staff")
        assert user.provider == "staff"
        assert client.get("/staff-bound").get_data(as_text=True) == "staff bound for staff"
        assert client.get("/protected").status_code == 302
