"""``Authorization: DPoP`` at ``@bearer_token_required``: a DPoP-bound token and its proof.

The request URL the proof must name is the one Flask sees (``request.base_url``):
behind a reverse proxy, apply Werkzeug's ``ProxyFix`` so that scheme and host
are the public ones.
"""

from __future__ import annotations

from typing import Any

from flask import Request

from ..errors import NotAuthenticated, OktaError, TokenValidationError
from ..protocol.bearer import VerifiedToken
from ..protocol.dpop_proof import InvalidDPoPProof, UseDPoPNonce

#: ``Authorization`` values that start with this (lowercased) carry a DPoP-bound token.
DPOP_SCHEME = "dpop "


def dpop_verified_token(state: Any, req: Request, token: str, audience: str | None) -> VerifiedToken:
    """The verified ``token`` of ``Authorization: DPoP <token>``, once its proof passes every check."""
    proof = req.environ.get("HTTP_DPOP")
    if not proof:
        raise InvalidDPoPProof("A DPoP proof is required with a DPoP access token.")
    if "," in proof:  # several DPoP headers reach WSGI joined by commas; a JWT has none
        raise InvalidDPoPProof("Send exactly one DPoP proof.")
    verified = state.access_tokens.validate(token, audience)
    if verified.jkt is None:
        raise TokenValidationError("The access token is not bound to a DPoP key.")
    state.dpop_proofs.validate(proof, method=req.method, url=req.base_url, access_token=token, jkt=verified.jkt)
    return verified


def bound_token_sent_as_bearer() -> TokenValidationError:
    """The refusal of a DPoP-bound token sent without its proof: it may have been stolen."""
    return TokenValidationError("This access token is bound to a DPoP key: send it with "
                                "Authorization: DPoP and a DPoP proof.")


def dpop_challenge(error: OktaError, state: Any, scopes: str | None = None) -> OktaError:
    """RFC 9449 §7.1: ``WWW-Authenticate: DPoP`` with the error and the accepted ``algs``;
    a nonce challenge also carries a fresh ``DPoP-Nonce``."""
    parts = []
    if not isinstance(error, NotAuthenticated):
        parts.append(f'error="{error.error}"')
    if scopes is not None:
        parts.append(f'scope="{scopes}"')
    parts.append(f'algs="{" ".join(state.dpop_proofs.algorithms)}"')
    error.challenge = "DPoP " + ", ".join(parts)
    if isinstance(error, UseDPoPNonce):
        error.headers = {"DPoP-Nonce": state.dpop_proofs.nonces.current()}
    return error
