"""claim(): the checks behind every measured sentence, and the committed runs that must pass them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scattn.course import RECORDED, claim, recorded

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def test_claim_prints_a_tick_or_a_cross_and_returns_the_verdict(capsys, monkeypatch):
    monkeypatch.setenv("SCATTN_PROFILE", "cpu")
    assert claim(3 > 2, "three beats two") is True
    assert claim(1 > 2, "one beats two") is False
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "claim ✓ three beats two"
    assert out[1].startswith("claim ✗ one beats two") and "differs" in out[1]


def test_claim_in_the_smoke_profile_says_it_is_not_enforced(capsys, monkeypatch):
    monkeypatch.setenv("SCATTN_PROFILE", "smoke")
    claim(False, "SE wins")
    assert "not enforced" in capsys.readouterr().out


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


def test_recorded_experiments_load_and_say_how_they_were_made():
    names = sorted(p.stem for p in RECORDED.glob("*.json"))
    assert "capacity" in names
    for name in names:
        record = recorded(name)
        assert record.get("argv"), f"{name}.json does not record the command that made it"


def test_an_unknown_recorded_experiment_names_the_known_ones():
    with pytest.raises(ValueError, match="capacity"):
        recorded("capacty")
