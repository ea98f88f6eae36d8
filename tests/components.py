"""Optional test components (Node's oidc-provider, Chromium, redis-server).

A test that needs a missing component is skipped, unless pytest runs with
``--require-components`` (as CI does), which turns the skip into a failure.
"""

from __future__ import annotations

import pytest

_required = False


def set_required(required: bool) -> None:
    global _required
    _required = required


def require_component(available: bool, message: str) -> None:
    """Skip (or, with --require-components, fail) when a component is missing."""
    if available:
        return
    if _required:
        pytest.fail(f"required test component missing: {message}", pytrace=False)
    pytest.skip(message)
