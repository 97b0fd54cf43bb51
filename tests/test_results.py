"""docs/results.md shows what the recorded files hold: its tables are regenerated from them and
compared, so a number on that page can only come from a recorded run."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from helpers import benchmark

ROOT = Path(__file__).resolve().parents[1]


def experiments():
    return benchmark("when_attention_pays")


def test_every_table_of_the_results_page_is_what_its_recorded_files_give():
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert experiments().tables(text) == text, "python benchmarks/when_attention_pays.py doc"


def test_the_results_page_has_tables_and_names_only_recorded_files():
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert len(re.findall(r"<!-- table: (.*?) -->", text)) >= 5  # each block's files must exist: tables() says so
    recorded = {p.stem for p in (ROOT / "scattn" / "recorded").glob("*.json")}
    for name in re.findall(r"scattn/recorded/(\w+)\.json", text):
        assert name in recorded, f"docs/results.md names scattn/recorded/{name}.json, which does not exist"


def test_a_changed_number_is_caught(tmp_path):
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- table: .*? -->\n(\|.*?\n)", text).group(1)
    tampered = text.replace(table, table.replace("|", "| 1 ", 1), 1)
    assert experiments().tables(tampered) != tampered


# The page's prose states counts and directions read off the recorded files; each is checked here
# (a failure means the prose or the experiment is wrong, never the check).

def colour_cue():
    """Per variant of the colour-cue runs: {seed: found the cue}, {seed: first epoch at 90%}, params,
    FLOPs, and (found, seeds) counts."""
    from scattn.course import recorded_runs

    script = experiments()
    runs = recorded_runs("colour_cue_core_*") + recorded_runs("colour_cue_controls_*")
    final, first, params, flops = {}, {}, {}, {}
    for r in runs:
        final.setdefault(r["label"], {})[r["seed"]] = r["final"] >= script.FOUND
        first.setdefault(r["label"], {})[r["seed"]] = script.first_epoch_at(r["history"])
        params[r["label"]], flops[r["label"]] = r["params"], r["flops"]
    found = {v: (sum(s.values()), len(s)) for v, s in final.items()}
    return final, first, params, flops, found


def test_the_colour_cue_prose_matches_its_recorded_runs():
    from scattn import stats

    final, first, params, flops, found = colour_cue()
    assert found["none"] == (0, 20) and found["spatial"] == (0, 10)
    assert [found[v] for v in ("deeper", "context-concat", "se-add", "gc")] == [(4, 10), (6, 10), (14, 20), (9, 10)]
    assert [found[v] for v in ("se", "gc-scale", "cbam", "nonlocal")] == [(19, 20), (10, 10), (10, 10), (10, 10)]

    def pooled(variants):
        return stats.rate(sum(found[v][0] for v in variants), sum(found[v][1] for v in variants))

    gated, no_gate = pooled(("se", "gc-scale", "cbam")), pooled(("deeper", "context-concat", "se-add", "gc"))
    assert (gated.k, gated.n, no_gate.k, no_gate.n) == (39, 40, 33, 50) and gated.low > no_gate.high
    seeds = sorted(final["se"])
    test = stats.mcnemar(np.array([final["se"][s] for s in seeds]), np.array([final["se-add"][s] for s in seeds]))
    assert (test.only_a, test.only_b, round(test.p, 3)) == (6, 1, 0.125)
    both = [s for s in seeds if final["se"][s] and final["se-add"][s]]
    sooner = [first["se-add"][s] - first["se"][s] for s in both]
    assert len(both) == 13 and min(sooner) == 3 and max(sooner) == 8
    gc_both = [s for s in final["gc"] if final["gc"][s] and final["gc-scale"][s]]
    later = [first["gc-scale"][s] - first["gc"][s] for s in gc_both]
    assert len(gc_both) == 9 and sum(d > 0 for d in later) == 5 and sum(d < 0 for d in later) == 2
    assert np.median([first["nonlocal"][s] for s in first["nonlocal"]]) == 5.5
    assert 1.9 < flops["nonlocal"] / flops["none"] < 2.0  # "twice the plain network's FLOPs"
    gate_params = [params[v] - params["none"] for v in ("se", "gc-scale", "cbam")]
    assert 700 <= min(gate_params) and max(gate_params) <= 840
    assert max(flops[v] for v in ("se", "gc-scale", "cbam")) / flops["none"] < 1.015
    assert round(params["deeper"] - params["none"], -3) == 58_000 and round(flops["deeper"] / flops["none"], 2) == 1.42


def test_the_readme_and_the_instructor_guide_quote_the_recorded_rates():
    from scattn import stats

    *_, found = colour_cue()
    flat = lambda path: " ".join((ROOT / path).read_text(encoding="utf-8").split())  # noqa: E731
    for path, variants in (("README.md", ("none", "se", "se-add")),
                           ("docs/instructor_guide.md", ("none", "se", "se-add", "deeper"))):
        for v in variants:
            assert str(stats.rate(*found[v])) in flat(path), f"{path}: {v}'s rate {stats.rate(*found[v])}"


def test_the_reduction_sweep_prose_matches_its_recorded_runs():
    from scattn import stats
    from scattn.course import by_label, recorded_runs

    *_, found = colour_cue()
    sweep = by_label(recorded_runs("colour_cue_r*"))
    rates = {r: stats.rate(sum(a >= 0.9 for a in sweep[f"se (reduction {r})"].values()), 10) for r in (2, 8, 16)}
    assert [(rates[r].k, rates[r].n) for r in (2, 8, 16)] == [(10, 10), (9, 10), (4, 10)] and found["se"] == (19, 20)
    assert str(rates[16]) == "4/10 (40%, 95% CI 17-69%)" and str(rates[2]) == "10/10 (100%, 95% CI 72-100%)"


def test_the_spotlight_prose_matches_its_recorded_runs():
    from scattn import stats
    from scattn.course import by_label, recorded_runs

    runs = recorded_runs("spotlight_*")
    final = by_label(runs)
    params = {r["label"]: r["params"] for r in runs}
    gate = final["spatial"]
    seeds = sorted(gate)
    cmp = {v: stats.paired([100 * gate[s] for s in seeds], [100 * final[v][s] for s in seeds])
           for v in final if v != "spatial"}
    holm = dict(zip(cmp, stats.holm([c.p for c in cmp.values()]), strict=True))
    shown = {v: (round(c.mean, 1), *(round(e, 1) for e in c.ci())) for v, c in cmp.items()}
    assert len(seeds) == 10 and params["spatial"] - params["none"] == 99 and params["dwconv3"] - params["none"] == 352
    assert shown["none"] == (21.8, 20.8, 22.8) and shown["spatial-add"] == (21.6, 19.3, 23.9)
    assert cmp["none"].wins == cmp["spatial-add"].wins == 10
    assert shown["spatial-add-relu"] == (1.5, -0.7, 3.8)
    assert round(-cmp["dwconv3"].mean, 1) == 3.5 and cmp["dwconv3"].losses == 10
    ladder = [-cmp[v].mean for v in ("conv1", "conv3", "conv7")]
    assert round(min(ladder), 1) == 1.8 and round(max(ladder), 1) == 3.8
    assert all(cmp[v].ci()[1] < 0 and holm[v] < 0.01 for v in ("dwconv3", "conv1", "conv3", "conv7"))


def test_the_cluttered_digits_prose_matches_its_recorded_runs():
    from scattn import stats
    from scattn.course import by_label, recorded_runs

    shown = {}
    for setting, n in (("cpu", 10), ("gpu", 8)):
        final = by_label(recorded_runs(f"power_{setting}_*"))
        seeds = sorted(final["none"])
        assert len(seeds) == n
        cmp = {v: stats.paired([100 * final[v][s] for s in seeds], [100 * final["none"][s] for s in seeds])
               for v in ("se", "cbam")}
        holm = dict(zip(cmp, stats.holm([c.p for c in cmp.values()]), strict=True))
        assert all(p >= 0.05 for p in holm.values())  # "no difference survives Holm's correction"
        assert all(abs(e) < 1 for c in cmp.values() for e in c.ci()) and all(c.mean < 0 for c in cmp.values())
        for v, c in cmp.items():
            shown[setting, v] = (round(c.mean, 2), *(round(e, 2) for e in c.ci()))
        shown[setting, "p"] = round(cmp["cbam"].p, 3), round(holm["cbam"], 3)
    assert shown["cpu", "se"] == (-0.11, -0.51, 0.29) and shown["cpu", "cbam"] == (-0.36, -0.79, 0.07)
    assert shown["gpu", "se"] == (-0.21, -0.56, 0.13) and shown["gpu", "cbam"] == (-0.29, -0.55, -0.04)
    assert shown["gpu", "p"] == (0.031, 0.061)
