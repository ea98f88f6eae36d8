"""Loading a script from ``benchmarks/`` as a module, for tests that run it at a tiny scale."""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@contextmanager
def benchmark_module(script: str) -> Iterator[types.ModuleType]:
    """``benchmarks/<script>.py`` as a module; afterwards ``sys.path`` and ``sys.modules`` are as before
    (a benchmark may put ``benchmarks/`` on the path and import its helper modules from there)."""
    name = f"{script}_benchmark"
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{script}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    sys.modules[name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path[:] = saved_path
        for added in {name, "provider"} - saved_modules:  # provider: the bearer benchmark's helper module
            sys.modules.pop(added, None)
