"""The stored sign-in keeps the token type, so API calls send the right Authorization scheme."""

from __future__ import annotations

import base64
import json

from flask_okta_client.protocol.grants import TokenResult
from flask_okta_client.sessions.storage import SignedInUser


def unsigned_id_token(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


RESPONSE = {"id_token": unsigned_id_token({"sub": "u1"}), "access_token": "at", "expires_in": 3600}


def test_sign_in_keeps_a_dpop_token_type():
    assert SignedInUser.from_token({**RESPONSE, "token_type": "DPoP"}).token_type == "DPoP"


def test_token_type_is_case_insensitive():
    assert SignedInUser.from_token({**RESPONSE, "token_type": "dpop"}).token_type == "DPoP"
    assert SignedInUser.from_token({**RESPONSE, "token_type": "bearer"}).token_type == "Bearer"


def test_refresh_takes_the_token_type_of_the_new_response():
    user = SignedInUser.from_token({**RESPONSE, "token_type": "Bearer"})
    assert user.refreshed({"access_token": "at2", "token_type": "DPoP"}).token_type == "DPoP"


def test_sign_in_stored_before_token_types_loads_as_bearer():
    data = SignedInUser.from_token(RESPONSE).to_dict()
    del data["token_type"]
    assert SignedInUser.from_dict(data).token_type == "Bearer"


def test_grant_results_take_the_one_token_type_reading():
    def result(token_type: str) -> str:
        return TokenResult.from_response({"access_token": "at", "token_type": token_type}).token_type

    assert result("dpop") == "DPoP" and result("bearer") == "Bearer"
    assert result("N_A") == "N_A"  # RFC 8693: an exchanged token that is not an access token
