"""The session benchmark runs end to end (tiny scale): each stack signed in, every row printed."""

from __future__ import annotations

import shutil
import types
from collections.abc import Iterator

import pytest

from tests.benchmark_modules import benchmark_module
from tests.components import require_component


@pytest.fixture(scope="module")
def bench() -> Iterator[types.ModuleType]:
    with benchmark_module("session") as module:
        yield module


def test_benchmark_compares_every_store_with_flask_login(bench, capsys):
    require_component(shutil.which("redis-server") is not None, "redis-server is not installed")

    assert bench.main(["--scale", "0.02"]) == 0

    report = capsys.readouterr().out
    for stack in ("flask-login", "cookie", "redis"):
        for view in ("protected", "plain"):
            assert f"  {stack} {view}" in report
    ratio_rows = [line for line in report.splitlines() if line.lstrip().startswith(("protected,", "plain,"))]
    assert len(ratio_rows) == 6
    assert all(line.rstrip().endswith(("PASS", "MISS")) for line in ratio_rows[:4])
    assert ratio_rows[4].lstrip().startswith("protected, redis vs FL + one GET")
    assert ratio_rows[5].lstrip().startswith("protected, redis, copies off")


def test_the_okta_sized_sign_in_has_the_sizes_it_claims(bench):
    stored = bench.okta_sized_sign_in()
    assert bench.ACCESS_TOKEN_SIZE - 4 < len(stored.access_token) <= bench.ACCESS_TOKEN_SIZE
    assert bench.ID_TOKEN_SIZE - 4 < len(stored.id_token) <= bench.ID_TOKEN_SIZE
    assert len(stored.claims["groups"]) == 20


def test_a_view_that_is_not_signed_in_stops_the_benchmark(bench):
    app = bench.okta_app("session")
    with pytest.raises(RuntimeError, match="not signed in"):
        bench.signed_in_client(app, lambda client: None)
