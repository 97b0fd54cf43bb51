"""The recorded experiments and the command line build the same runs (issue 19: one command
reproduces a row), and the experiment script records and reports what it ran."""

from __future__ import annotations

import inspect
import json

import pytest
from helpers import benchmark

import scattn.compare
import scattn.train
from scattn.__main__ import main
from scattn.checkpoint import run_identity


def experiments():
    return benchmark("when_attention_pays")


class Stop(Exception):
    pass


# fit's arguments that say where and how visibly a run happens, not what it computes
RUNTIME = ("test_loader", "device", "checkpoint_dir", "resume", "quiet", "desc", "leave", "callbacks")


@pytest.fixture
def identities(monkeypatch, tmp_path):
    """Replace fit with one that records the identity a checkpoint of the run would carry, then stops."""
    monkeypatch.setenv("SCATTN_DATA", str(tmp_path / "data"))
    seen = []

    real = inspect.signature(scattn.train.fit)

    def fake_fit(*args, **kwargs):
        call = real.bind(*args, **kwargs)
        call.apply_defaults()  # what fit would use, whether passed or left to its defaults
        settings = {k: v for k, v in call.arguments.items() if k not in RUNTIME}
        recipe = settings.pop("recipe") or scattn.train.Recipe()  # None: fit's default recipe
        seen.append(run_identity(settings.pop("model"), settings.pop("train_loader"), **settings,
                                 **recipe.settings()))
        raise Stop

    monkeypatch.setattr(scattn.compare, "fit", fake_fit)
    return seen


@pytest.mark.parametrize("variant,options", [("se", []), ("se", ["--reduction", "16"]), ("deeper", []),
                                             ("nonlocal", [])])
def test_the_cli_and_the_experiment_script_build_the_same_run(identities, variant, options, tmp_path):
    assert main(["compare", "--data", "colour-cue", "--profile", "cpu", "--device", "cpu", "--attentions", variant,
                 "--seeds", "1234", "--quiet", *options]) == 1  # the fake fit stopped it
    with pytest.raises(Stop):
        experiments().main(["run", "--task", "colour-cue", "--variants", variant, "--seeds", "1234",
                            "--json", str(tmp_path / "x.json"), *options])
    cli, script = identities
    assert cli == script
    assert cli["epochs"] == 16 and cli["seed"] == 1234 and cli["data"]["size"] == 6000


def test_a_changed_setting_changes_the_identity(identities, tmp_path):
    """The comparison above can fail: another learning rate is another run."""
    assert main(["compare", "--data", "colour-cue", "--profile", "cpu", "--device", "cpu", "--attentions", "se",
                 "--seeds", "1234", "--quiet", "--lr", "0.02"]) == 1
    with pytest.raises(Stop):
        experiments().main(["run", "--task", "colour-cue", "--variants", "se", "--seeds", "1234",
                            "--json", str(tmp_path / "x.json")])
    assert identities[0] != identities[1]


def test_the_script_records_provenance_resumes_and_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCATTN_DATA", str(tmp_path / "data"))
    out = tmp_path / "cue.json"
    argv = ["run", "--task", "colour-cue", "--variants", "none", "se-add", "--seeds", "3", "4", "--n-train", "64",
            "--n-test", "32", "--epochs", "2", "--json", str(out)]
    script = experiments()
    assert script.main(argv) == 0
    record = json.loads(out.read_text())
    assert record["provenance"]["command"].startswith("python ") and record["provenance"]["torch"]
    assert {"commit", "date", "machine", "threads", "scattn"} <= set(record["provenance"])
    assert [(r["variant"], r["seed"]) for r in record["runs"]] == [("none", 3), ("se-add", 3), ("none", 4),
                                                                   ("se-add", 4)]
    assert all(len(r["predictions"]) == 32 and len(r["history"]) == 2 for r in record["runs"])
    capsys.readouterr()
    assert script.main(argv) == 0  # finished: nothing to train again
    assert "runs in" not in capsys.readouterr().out
    with pytest.raises(SystemExit, match="another experiment"):
        script.main([*argv[:-2], "--epochs", "3", "--json", str(out)])
    assert script.main(["report", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| se-add | 2 |" in table and "95% CI" in table
