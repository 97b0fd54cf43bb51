"""claim(): the checks behind every measured sentence, and the committed runs that must pass them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from scattn.course import RECORDED, claim, recorded
from tools import claims as ledger

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def test_a_claim_on_fixed_inputs_prints_its_verdict_in_every_profile(capsys, monkeypatch):
    for profile in ("smoke", "cpu", "gpu"):
        monkeypatch.setenv("SCATTN_PROFILE", profile)
        assert claim(3 > 2, "three beats two") is True
        assert claim(1 > 2, "one beats two") is False
        out = capsys.readouterr().out.splitlines()
        assert out == ["claim ✓ three beats two", "claim ✗ one beats two  [the text or the experiment is wrong]"]


def test_a_claim_about_this_run_says_so_and_the_smoke_profile_checks_nothing(capsys, monkeypatch):
    monkeypatch.setenv("SCATTN_PROFILE", "cpu")
    claim(True, "SE wins", live=True)
    claim(False, "CBAM wins", live=True)
    assert capsys.readouterr().out.splitlines() == [
        "claim ✓ SE wins  [this run]", "claim ✗ CBAM wins  [this run: it differs from the run the text describes]"]
    monkeypatch.setenv("SCATTN_PROFILE", "smoke")
    assert claim(False, "SE wins", live=True) is False
    out = capsys.readouterr().out
    assert out.startswith("claim – SE wins  [this run: the smoke profile trains too little to check it]")
    assert "✓" not in out and "✗" not in out


def sanitise(text: str) -> str:
    """nbval's sanitiser, as it reads tests/nbval_sanitize.cfg."""
    import configparser
    import re

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "tests" / "nbval_sanitize.cfg", encoding="utf-8")
    for section in cfg.sections():
        text = re.sub(cfg[section]["regex"], cfg[section]["replace"], text)
    return text


def test_ci_sees_a_flipped_fixed_claim_but_not_a_live_claim_it_cannot_check():
    committed = "claim ✓ the head adds up\n"
    assert sanitise(committed) != sanitise("claim ✗ the head adds up  [the text or the experiment is wrong]\n")
    live_cpu = "claim ✓ SE is ahead on this seed  [this run]\n"
    live_smoke = "claim – SE is ahead on this seed  [this run: the smoke profile trains too little to check it]\n"
    assert sanitise(live_cpu) == sanitise(live_smoke)
    assert sanitise("claim ✓ the head adds up\n") == "claim ✓ the head adds up\n"  # left alone


def test_claim_takes_numpy_and_tensor_verdicts(capsys):
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    assert claim(np.bool_(True), "a") and not claim(torch.tensor(False), "b")


@pytest.mark.parametrize("statement", ["", "   ", None, 3])
def test_claim_needs_a_statement(statement):
    with pytest.raises(ValueError, match="statement"):
        claim(True, statement)


def _outputs(path: Path) -> str:
    nb = json.loads(path.read_text())
    texts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            texts.append("".join(text) if isinstance(text, list) else text)
    return "\n".join(texts)


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_committed_run_contradicts_its_text(path):
    failed = [line for line in _outputs(path).splitlines() if line.startswith("claim ✗")]
    assert not failed, f"{path.name}: the committed run fails its own claims: {failed}"


PROVENANCE = {"command", "scattn", "commit", "uncommitted_changes", "date", "machine", "python", "torch", "threads"}


@pytest.mark.parametrize("name", sorted(p.stem for p in RECORDED.glob("*.json")))
def test_every_recorded_experiment_carries_the_provenance_its_run_wrote(name):
    record = recorded(name)
    assert PROVENANCE <= set(record.get("provenance", {})), f"{name}.json lacks {PROVENANCE - set(record)}"
    p = record["provenance"]
    assert p["commit"] and not p["uncommitted_changes"], f"{name}.json was made from uncommitted code"
    assert p["command"].startswith("python benchmarks/") or p["command"].startswith("scattn ")


def test_an_unknown_recorded_experiment_names_the_known_ones():
    known = sorted(p.stem for p in RECORDED.glob("*.json"))
    with pytest.raises(ValueError, match=re.escape(known[0])):
        recorded(known[0] + "x")


# ---- the ledger: every claim, per profile, from real runs ---------------------------------------------------


def test_the_ledger_holds_every_claim_as_held_in_both_profiles_and_matches_the_code():
    found = ledger.problems()
    assert not found, "\n".join(found[:20]) + "\n(python -m tools.claims run --profile cpu|gpu NOTEBOOK)"


def test_the_course_page_shows_the_ledger():
    assert ledger.matrix() in (ROOT / "docs" / "course.md").read_text(encoding="utf-8"), \
        "python -m tools.claims matrix"


def test_the_ledger_check_sees_a_failed_a_stale_and_a_missing_run(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="claim ✓ x is one\nclaim ✓ SE wins  [this run]\n")])])
    path = tmp_path / "notebooks" / "99_probe.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    good = {"notebooks/99_probe.ipynb": {p: ledger.entry(nb, p, 1.0) for p in ledger.PROFILES}}
    assert ledger.problems([path], good) == []
    assert good["notebooks/99_probe.ipynb"]["cpu"]["claims"][1] == {"statement": "SE wins", "verdict": "✓",
                                                                    "live": True}
    failed = json.loads(json.dumps(good))
    failed["notebooks/99_probe.ipynb"]["gpu"]["claims"][1]["verdict"] = "✗"
    assert ledger.problems([path], failed) == ["notebooks/99_probe.ipynb (gpu): claim ✗ SE wins"]
    nb.cells[0].source = "x = 2"
    nbformat.write(nb, path)
    assert len(ledger.problems([path], good)) == 2  # both runs are stale now
    assert ledger.problems([path], {}) == [f"notebooks/99_probe.ipynb: no {p} run in the ledger"
                                           for p in ledger.PROFILES]


def test_recorded_runs_merge_files_label_options_and_pair_by_seed(tmp_path, monkeypatch):
    import scattn.course as course

    def record(options, runs):
        return {"provenance": {}, "task": "colour-cue", "sizes": {"epochs": 2}, "options": options,
                "runs": [{"variant": v, "seed": s, "history": [{"test_acc": 0.1}, {"test_acc": a}]}
                         for v, s, a in runs]}

    (tmp_path / "cue_a.json").write_text(json.dumps(record({}, [("none", 1, 0.5), ("se", 1, 0.9)])))
    (tmp_path / "cue_b.json").write_text(json.dumps(record({}, [("none", 2, 0.52), ("se", 2, 0.51)])))
    (tmp_path / "cue_r8.json").write_text(json.dumps(record({"reduction": 8}, [("se", 1, 0.95)])))
    monkeypatch.setattr(course, "RECORDED", tmp_path)
    runs = course.recorded_runs("cue_?", "cue_r8")
    assert [r["label"] for r in runs] == ["none", "se", "none", "se", "se (reduction 8)"]
    assert course.by_label(runs) == {"none": {1: 0.5, 2: 0.52}, "se": {1: 0.9, 2: 0.51}, "se (reduction 8)": {1: 0.95}}
    with pytest.raises(ValueError, match="no recorded experiment matches 'power_\\*'; there are cue_a"):
        course.recorded_runs("power_*")


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_committed_output_carries_a_setup_warning(path):
    """The committed runs used the package they were written for: no 'is installed but this notebook
    expects' warning (an old install ran them) and no other warning line from the setup cell."""
    warnings = [line for line in _outputs(path).splitlines() if line.startswith("warning: scattn")]
    assert not warnings, f"{path.name}: {warnings[0]}"
