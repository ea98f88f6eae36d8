"""The bearer benchmark runs end to end, and its in-request timers leave the library as they found it."""

from __future__ import annotations

import types
from collections.abc import Iterator

import pytest

from tests.benchmark_modules import benchmark_module


@pytest.fixture(scope="module")
def bench() -> Iterator[types.ModuleType]:
    with benchmark_module("bearer") as module:
        yield module


class Counter:
    def count(self, n: int) -> int:
        return n + 1


def test_timed_stages_times_each_call_and_restores_the_originals(bench):
    module = types.ModuleType("stages")
    module.double = lambda n: 2 * n
    original_double = module.double
    counter = Counter()
    stages = [("double", module, "double"), ("count", counter, "count")]

    with bench.timed_stages(stages) as samples:
        assert module.double(4) == 8
        assert counter.count(1) == 2
        assert counter.count(2) == 3

    assert [len(samples["double"]), len(samples["count"])] == [1, 2]
    assert all(ns > 0 for ns in samples["double"] + samples["count"])
    assert module.double is original_double
    assert "count" not in vars(counter)  # the class's method shows through again


def test_timed_stages_restores_the_originals_when_a_stage_raises(bench):
    module = types.ModuleType("stages")

    def fail() -> None:
        raise ValueError("refused")

    module.fail = fail
    with pytest.raises(ValueError), bench.timed_stages([("fail", module, "fail")]) as samples:
        module.fail()
    assert len(samples["fail"]) == 1
    assert module.fail is fail


def test_interleaved_rounds_time_every_series_and_compare_overheads_per_round(bench):
    calls = {name: (lambda item: None) for name in ("floor", "public", "messages", "floor view")}
    rounds = [{"floor": ["t1", "t2"], "requests": [{}, {}]}] * 3
    result = bench.interleaved_rounds(calls, rounds)
    assert all(len(result.series[name].rounds) == 3 for name in calls)

    result.series["public"].rounds[:] = [100.0, 110.0]
    result.series["messages"].rounds[:] = [130.0, 150.0]
    result.series["floor view"].rounds[:] = [120.0, 130.0]
    result.series["floor"].rounds[:] = [10.0, 20.0]
    assert result.overhead("messages") == [30.0, 40.0]
    assert result.ratios("messages", "floor view") == [1.5, 2.0]
    assert result.ratios("messages", "floor") == [3.0, 2.0]


def test_benchmark_runs_with_the_breakdown(bench, monkeypatch, capsys):
    # The benchmark points these at its throwaway certificate; put them back afterwards.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    monkeypatch.setenv("SSL_CERT_FILE", "")

    assert bench.main(["--scale", "0.05", "--breakdown"]) == 0

    report = capsys.readouterr().out
    for target_row in ("=> first-sight / floor inside a view", "=> cache-hit / floor inside a view"):
        line = next(line for line in report.splitlines() if target_row in line)
        assert line.rstrip().endswith(("PASS", "FAIL"))
    assert "in-request breakdown of first sight" in report
    for stage in ("BearerGuard.check (all our work but the cache probe)", "cache lookup (a miss)", "check_signature (RSA)",
                  "decode_claims (base64url + JSON)"):
        assert stage in report
    jwks_row = next(line for line in report.splitlines() if line.startswith("ours (server count"))
    assert "1 / 1" in jwks_row and jwks_row.rstrip().endswith("PASS")
