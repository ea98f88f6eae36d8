"""What a user gets from ``pip install flask-okta-client``: the library with its templates, nothing else."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT_OF_THE_COPY = shutil.ignore_patterns(
    ".git", ".venv*", "node_modules", "test-artifacts", "build", "dist", "*.egg-info", "__pycache__", ".*cache",
    ".hypothesis",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """A wheel built from a copy of the source tree (a build leaves files behind)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=LEFT_OUT_OF_THE_COPY)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(work / "out"),
                    str(source)], check=True, capture_output=True, timeout=300)
    (path,) = (work / "out").glob("flask_okta_client-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


@pytest.fixture(scope="module")
def wheel_files(wheel: zipfile.ZipFile) -> set[str]:
    return set(wheel.namelist())


def test_wheel_holds_the_package_with_its_templates(wheel_files):
    package = ROOT / "flask_okta_client"
    expected = {path.relative_to(ROOT).as_posix() for path in package.rglob("*")
                if path.suffix in (".py", ".html") and "__pycache__" not in path.parts}
    assert expected - wheel_files == set()
    assert any(name.startswith("flask_okta_client/templates/okta/") for name in expected)


def test_wheel_has_no_sample_site_tests_or_benchmarks(wheel_files):
    top_level = {name.split("/")[0] for name in wheel_files}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"flask_okta_client"}


def test_wheel_registers_the_pytest_plugin(wheel, wheel_files):
    (entry_points,) = [name for name in wheel_files if name.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "[pytest11]" in text and "flask_okta_client.testing.pytest_plugin" in text


def test_readme_states_the_lower_bounds_pyproject_declares():
    import re
    import tomllib

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    readme = (ROOT / "README.md").read_text()
    section = " ".join(readme[readme.index("## Installing"):readme.index("## Quick start")].split())
    for dependency in dependencies:
        name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", dependency).groups()
        assert f"{name} {version}" in section, dependency
