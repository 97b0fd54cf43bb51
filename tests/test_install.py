"""The package as a learner installs it: a fresh virtual environment with the runtime
dependencies only (no dev extra), scattn installed from the checkout, not editable.

One environment is built per test session (about two minutes: torch is most of it)
and shared by the tests here. They carry the ``install`` marker: ``make test`` (and so
CI) runs them, ``make test-fast`` skips them; SCATTN_SKIP_INSTALL_TESTS=1 skips them too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.install,
              pytest.mark.skipif(bool(os.environ.get("SCATTN_SKIP_INSTALL_TESTS")),
                                 reason="SCATTN_SKIP_INSTALL_TESTS is set")]


def runtime_dependencies() -> list[str]:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh environment with scattn's runtime dependencies and nothing of the dev extra."""
    env = tmp_path_factory.mktemp("learner") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    python = env / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    *runtime_dependencies()], check=True, env=clean_env())
    return python


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would reach into the checkout (PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, **extra}


def run(python: Path, code: str, **kwargs) -> subprocess.CompletedProcess:
    kwargs["env"] = {k: v for k, v in kwargs.get("env", clean_env()).items() if k != "PYTHONPATH"}
    return subprocess.run([str(python), "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=kwargs.pop("cwd", "/"), **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from the checkout, as a release would build it."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check",
                    "--wheel-dir", str(out), str(ROOT)], check=True, env=clean_env())
    (built,) = out.glob("scattn-*.whl")
    return built


def installed(python: Path, wheel: Path) -> Path:
    """scattn installed from its wheel (a plain install, not editable), once."""
    if run(python, "import scattn").returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps",
                        "--disable-pip-version-check", str(wheel)], check=True, env=clean_env())
    return python


def setup_cell() -> str:
    from tools.notebooks import setup_source

    return setup_source()


def test_the_setup_cell_with_an_unreachable_source_says_what_to_do(venv):
    result = run(venv, setup_cell(), env={**clean_env(), "SCATTN_SOURCE": "git+https://scattn.invalid/nowhere"})
    assert result.returncode != 0
    assert "pip could not install scattn from git+https://scattn.invalid/nowhere" in result.stdout
    assert "Other ways in: set os.environ['SCATTN_SOURCE']" in result.stdout
    assert "CalledProcessError" not in result.stderr and "subprocess.py" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "RuntimeError: scattn is not installed (source: git+https://scattn.invalid/nowhere); see the lines above")


def test_the_setup_cell_installs_from_a_local_repository_and_imports_without_a_restart(venv):
    """The cell's exact code, with the source overridden to a git repository of this checkout
    (its committed state): pip installs a plain copy and the same process imports it."""
    code = setup_cell() + "\nprint('FROM', scattn.__file__)\n"
    result = run(venv, code, env={**clean_env(), "SCATTN_SOURCE": f"git+file://{ROOT}", "SCATTN_PROFILE": "smoke"})
    assert result.returncode == 0, result.stderr
    assert "Config(device=" in result.stdout and "warning" not in result.stdout
    where = result.stdout.split("FROM", 1)[1].strip()
    assert "site-packages" in where and str(ROOT) not in where  # installed, not editable
    again = run(venv, setup_cell(), env={**clean_env(), "SCATTN_SOURCE": "git+https://scattn.invalid/nowhere"})
    assert again.returncode == 0  # installed now: the cell does not reinstall


def test_the_setup_cell_warns_about_a_stale_install(venv, wheel):
    python = installed(venv, wheel)
    stale = setup_cell().replace(f'WRITTEN_FOR = "{scattn_version()}"', 'WRITTEN_FOR = "99.0"')
    assert stale != setup_cell()
    result = run(python, stale, env={**clean_env(), "SCATTN_PROFILE": "smoke"})
    assert result.returncode == 0, result.stderr
    assert f"warning: scattn {scattn_version()} is installed but this notebook expects 99.0" in result.stdout


def scattn_version() -> str:
    from tools.notebooks import package_version

    return package_version()


def test_the_wheel_holds_the_package_and_its_data_and_no_tooling(wheel):
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"scattn", f"{wheel.name.split('-py')[0]}.dist-info"}, tops  # no tools/, tests/, benchmarks/
    assert any(n.startswith("scattn/recorded/") and n.endswith(".json") for n in names)
    assert "scattn/weights/smallcnn_digits.pt" in names
    assert "scattn/locale/zh.json" in names  # the checks' Chinese (scattn.i18n)


def test_every_module_in_the_wheel_imports_without_the_dev_extra(venv, wheel):
    python = installed(venv, wheel)
    result = run(python, """
        import importlib, pkgutil, sys
        import scattn
        assert "site-packages" in scattn.__file__, scattn.__file__   # the installed copy, not the checkout
        names = [m.name for m in pkgutil.walk_packages(scattn.__path__, "scattn.")]
        for name in names:
            importlib.import_module(name)
        dev = [m for m in ("nbformat", "nbclient", "pytest", "hypothesis", "timm", "nbval") if m in sys.modules]
        assert not dev, f"importing scattn pulled in dev-only packages: {dev}"
        from scattn.course import RECORDED, recorded
        from scattn.models import pretrained_smallcnn
        files = sorted(RECORDED.glob("*.json"))
        assert "site-packages" in str(RECORDED) and files and recorded(files[0].stem)  # package data travels
        pretrained_smallcnn()
        print(len(names), "modules;", scattn.__version__)
    """)
    assert result.returncode == 0, result.stderr
    assert "modules;" in result.stdout and "0+unknown" not in result.stdout


def test_the_installed_cli_works_and_has_no_authoring_command(venv, wheel):
    python = installed(venv, wheel)
    doctor = subprocess.run([str(python), "-m", "scattn", "doctor"], capture_output=True, text=True, cwd="/",
                            env=clean_env())
    assert doctor.returncode == 0 and "torch" in doctor.stdout, doctor.stderr
    course = subprocess.run([str(python), "-m", "scattn", "course", "build"], capture_output=True, text=True,
                            cwd="/", env=clean_env())
    assert course.returncode == 2 and "invalid choice: 'course'" in course.stderr  # tools/ is not installed
