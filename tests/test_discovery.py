"""Specification of provider metadata: ``parse_metadata`` and ``MetadataCache``."""

from __future__ import annotations

import pytest

from flask_okta_client.errors import ProviderError, ProviderUnavailable
from flask_okta_client.protocol.discovery import (
    REQUIRED_ENDPOINTS,
    STALE_RETRY_SECONDS,
    MetadataCache,
    discovery_url,
    parse_metadata,
)
from tests.jose_helpers import (
    DISCOVERY_URL,
    DROP,
    ISSUER,
    FakeHttp,
    discovery_document,
    install_fake_monotonic,
)

TTL = 3600


@pytest.fixture
def clock(monkeypatch):
    return install_fake_monotonic(monkeypatch)


def make_cache(document=None, ttl=TTL):
    http = FakeHttp({DISCOVERY_URL: document if document is not None else discovery_document()})
    return MetadataCache(ISSUER, http, ttl), http


# ----------------------------------------------------------------- parse_metadata


def test_discovery_url_is_the_well_known_path_under_the_issuer():
    assert discovery_url(ISSUER) == ISSUER + "/.well-known/openid-configuration"
    assert discovery_url(ISSUER + "/") == ISSUER + "/.well-known/openid-configuration"


def test_valid_document_is_parsed():
    metadata = parse_metadata(discovery_document(), ISSUER)
    assert metadata.issuer == ISSUER
    assert metadata["jwks_uri"] == ISSUER + "/v1/keys"
    assert metadata.get("end_session_endpoint") is None


def test_issuer_mismatch_is_rejected():
    with pytest.raises(ProviderError):
        parse_metadata(discovery_document(issuer="https://evil.example/oauth2/default"), ISSUER)


def test_issuer_differing_only_by_trailing_slash_is_rejected():
    with pytest.raises(ProviderError):
        parse_metadata(discovery_document(issuer=ISSUER + "/"), ISSUER)


def test_missing_issuer_is_rejected():
    with pytest.raises(ProviderError):
        parse_metadata(discovery_document(issuer=DROP), ISSUER)


@pytest.mark.parametrize("endpoint", REQUIRED_ENDPOINTS)
def test_missing_required_endpoint_is_rejected(endpoint):
    with pytest.raises(ProviderError):
        parse_metadata(discovery_document(**{endpoint: DROP}), ISSUER)


@pytest.mark.parametrize("endpoint", ["authorization_endpoint", "token_endpoint", "jwks_uri"])
def test_required_endpoint_that_is_not_a_string_is_rejected(endpoint):
    with pytest.raises(ProviderError):
        parse_metadata(discovery_document(**{endpoint: ["https://x"]}), ISSUER)


def test_signing_algorithms_keep_only_strings():
    metadata = parse_metadata(discovery_document(id_token_signing_alg_values_supported=["RS256", 7, None]), ISSUER)
    assert metadata.signing_algorithms("id_token_signing_alg_values_supported") == ("RS256",)


def test_signing_algorithms_of_a_non_list_are_empty():
    metadata = parse_metadata(discovery_document(id_token_signing_alg_values_supported="RS256"), ISSUER)
    assert metadata.signing_algorithms("id_token_signing_alg_values_supported") == ()


def test_iss_parameter_is_required_only_when_advertised_as_true():
    assert not parse_metadata(discovery_document(), ISSUER).requires_iss_parameter
    doc = discovery_document(authorization_response_iss_parameter_supported="true")
    assert not parse_metadata(doc, ISSUER).requires_iss_parameter
    doc = discovery_document(authorization_response_iss_parameter_supported=True)
    assert parse_metadata(doc, ISSUER).requires_iss_parameter


# ----------------------------------------------------------------- MetadataCache


def test_document_is_fetched_from_the_well_known_url(clock):
    cache, http = make_cache()
    assert cache.get().issuer == ISSUER
    assert http.calls == [DISCOVERY_URL]


def test_document_is_cached_within_the_ttl(clock):
    cache, http = make_cache()
    for _ in range(5):
        cache.get()
        clock.advance(TTL / 10)
    assert http.count(DISCOVERY_URL) == 1


def test_document_is_refetched_after_the_ttl(clock):
    cache, http = make_cache()
    cache.get()
    http.serve(DISCOVERY_URL, discovery_document(token_endpoint=ISSUER + "/v2/token"))
    clock.advance(TTL)
    assert cache.get()["token_endpoint"] == ISSUER + "/v2/token"
    assert http.count(DISCOVERY_URL) == 2


def test_cache_rejects_a_document_for_another_issuer(clock):
    cache, _ = make_cache(discovery_document(issuer="https://evil.example"))
    with pytest.raises(ProviderError):
        cache.get()


def test_first_fetch_failing_raises_provider_unavailable(clock):
    cache, http = make_cache()
    http.fail(DISCOVERY_URL)
    with pytest.raises(ProviderUnavailable):
        cache.get()


def test_first_fetch_failure_is_not_remembered(clock):
    cache, http = make_cache()
    http.fail(DISCOVERY_URL)
    with pytest.raises(ProviderUnavailable):
        cache.get()
    http.recover(DISCOVERY_URL)
    assert cache.get().issuer == ISSUER


def test_stale_document_is_served_when_refresh_fails(clock):
    cache, http = make_cache()
    first = cache.get()
    http.fail(DISCOVERY_URL)
    clock.advance(TTL)
    assert cache.get() is first
    assert http.count(DISCOVERY_URL) == 2


def test_stale_document_is_served_when_refresh_returns_a_wrong_document(clock):
    cache, http = make_cache()
    first = cache.get()
    http.serve(DISCOVERY_URL, discovery_document(issuer="https://evil.example"))
    clock.advance(TTL)
    assert cache.get() is first


def test_failed_refresh_is_retried_only_after_the_stale_retry_period(clock):
    cache, http = make_cache()
    cache.get()
    http.fail(DISCOVERY_URL)
    clock.advance(TTL)
    cache.get()
    clock.advance(STALE_RETRY_SECONDS - 1)
    cache.get()
    assert http.count(DISCOVERY_URL) == 2
    http.recover(DISCOVERY_URL)
    clock.advance(1)
    cache.get()
    assert http.count(DISCOVERY_URL) == 3


def test_clear_forces_a_refetch(clock):
    cache, http = make_cache()
    cache.get()
    cache.clear()
    cache.get()
    assert http.count(DISCOVERY_URL) == 2
