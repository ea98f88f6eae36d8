"""The load test runs end to end at a tiny scale: its users sign in, browse, refresh and sign out, faults included."""

from __future__ import annotations

import shutil

import pytest

from tests.benchmark_modules import benchmark_module
from tests.components import require_component


@pytest.fixture(scope="module")
def load():
    require_component(shutil.which("redis-server") is not None, "redis-server is not installed")
    with benchmark_module("load") as module:
        yield module


def line(report: str, start: str) -> str:
    return next(text for text in report.splitlines() if text.startswith(start))


def test_tiny_load_run_with_faults_loses_nothing(load, capsys):
    assert load.main(["--users", "2", "--seconds", "3", "--token-lifetime", "1", "--burst", "1", "--think", "0.1",
                      "--stall", "2", "--redis-down", "1"]) == 0
    report = capsys.readouterr().out
    assert "errors    0 in the steady phase" in report
    assert "lost      0 sessions in the steady phase" in report
    assert "sign-ins " in report and "JWKS " in report
    assert line(report, "refreshes").split()[1] != "0"  # tokens came due and were refreshed
    for phase in ("provider stall", "redis restart", "recovery"):
        assert line(report, phase).endswith("lost sessions 0")
