"""Every registered mechanism and task has what the course needs (docs/extending.md lists it):
a diagram, a cross-check or the reason it has none, a docs entry, the protocol tests' maps;
every task a row in docs/architecture.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import test_attention
import test_crosscheck

import scattn
from scattn.diagrams import DIAGRAMS
from scattn.tasks import TASKS

ROOT = Path(__file__).resolve().parents[1]
MECHANISMS = [name for name in scattn.available_attention() if name != "none"]


@pytest.mark.parametrize("name", MECHANISMS)
def test_every_mechanism_has_a_diagram(name):
    assert name in DIAGRAMS, f"{name}: add a drawing to scattn/diagrams/ and register it in DIAGRAMS"


@pytest.mark.parametrize("name", MECHANISMS)
def test_every_mechanism_is_cross_checked_or_says_why_not(name):
    checks, reasons = test_crosscheck.CROSS_CHECKS, test_crosscheck.NO_PEER
    assert (name in checks) != (name in reasons), \
        f"{name}: name its cross-check in CROSS_CHECKS, or its reason in NO_PEER (tests/test_crosscheck.py), once"
    if name in checks:
        assert callable(getattr(test_crosscheck, checks[name], None)), f"{checks[name]} is not a test there"
    else:
        tests = re.findall(r"test_\w+(?![\w.])", reasons[name])  # test names, not file names
        assert tests, f"{name}: the reason must name the test that checks it instead"
        here = (ROOT / "tests").glob("test_*.py")
        defined = {m for path in here for m in re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE)}
        assert set(tests) <= defined, f"{name}: {set(tests) - defined} named in NO_PEER but defined nowhere"


def test_no_cross_check_entry_outlives_its_mechanism():
    listed = set(test_crosscheck.CROSS_CHECKS) | set(test_crosscheck.NO_PEER)
    assert listed == set(MECHANISMS), listed ^ set(MECHANISMS)


@pytest.mark.parametrize("name", MECHANISMS)
def test_every_mechanism_has_a_docs_entry(name):
    text = (ROOT / "docs" / "mechanisms.md").read_text(encoding="utf-8")
    assert re.search(rf"^#+ `{re.escape(name)}`", text, re.MULTILINE), \
        f"{name}: add a section headed `{name}` to docs/mechanisms.md"


@pytest.mark.parametrize("name", MECHANISMS)
def test_every_mechanism_is_in_the_protocol_tests(name):
    assert isinstance(test_attention.expected_maps(name, 2, 8, 4, 4), dict)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_is_in_the_architecture_page(task):
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert re.search(rf"^\| `{re.escape(task)}` \|", text, re.MULTILINE), \
        f"{task}: add a row to the tasks table in docs/architecture.md"


def test_the_extending_guide_names_the_places_the_tests_look_at():
    guide = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    for place in ("scattn/attention/registry.py", "tests/test_attention.py", "tests/test_crosscheck.py",
                  "CROSS_CHECKS", "NO_PEER", "scattn/diagrams/", "DIAGRAMS", "mechanisms.md", "scattn/tasks.py",
                  "TASKS", "architecture.md"):
        assert place in guide, place
