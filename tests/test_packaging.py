"""The install path: pyproject.toml and environment.yml agree; torch stays unpinned."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge name -> PyPI name


def requirement_name(req: str) -> str:
    return re.split(r"[\s<>=!~\[;]", req, maxsplit=1)[0].lower()


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = pyproject()
    wanted = {requirement_name(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {requirement_name(d) for d in env["dependencies"] if isinstance(d, str)} - {"python", "pip"}
    assert {CONDA_NAMES.get(n, n) for n in conda} == wanted
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip_section == ["-e .[dev]"]
    assert "conda-forge" in env["channels"]


def test_torch_and_torchvision_are_not_pinned():
    for req in pyproject()["dependencies"]:
        if requirement_name(req) in {"torch", "torchvision"}:
            assert req.strip() == requirement_name(req), f"{req!r} pins torch; Colab ships its own"


def test_ci_calls_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]  # the first commands a reader sees (under the Chinese edition's link)
    assert "make lab" in first_block and "make test" in first_block


def test_readme_python_example_runs():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert tuple(namespace["y"].shape) == (8, 64, 32, 32)
    assert tuple(namespace["m_s"].shape) == (8, 1, 32, 32)
