"""The exercise checks give the right verdict and the right hint, and never crash.

The catalogue in ``tests/learner_code/`` is learner code as learners write it: every
wrong implementation must fail with the hint for its mistake, every right one (and
the package's own modules) must pass, and whatever a learner's code returns or
raises must end as ✗ lines and an AssertionError, never as the checker's traceback.
The catalogue runs in English and in Chinese (``scattn.i18n``): the same verdicts, and
hints that name the same mistake (``tests/learner_code/chinese.py``) in Chinese text.
"""

from __future__ import annotations

import functools
import os
import re
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from learner_code import cbam, channel, chinese, eca, entries, hooks, localisation, se, spatial
from torch import nn

import scattn
from scattn import checks, i18n
from scattn import maps as maps_module
from scattn.checks import localisation as localisation_check

CATALOGUE = [e for module in (spatial, channel, se, cbam, eca, hooks, localisation) for e in entries(module)]
WRONG = [e for e in CATALOGUE if e[1].verdict == "wrong"]
RIGHT = [e for e in CATALOGUE if e[1].verdict == "right"]
CHECKS_DIR = os.path.dirname(checks.__file__)
FALLBACK = "the check could not use what your code returned ({error}); compare it with what the exercise asks"
CJK = re.compile(r"[\u4e00-\u9fff]")


def words(template: str, language: str) -> str:
    """The catalogued text of ``template`` in ``language`` up to its first placeholder."""
    return i18n.catalogue(language).get(template, template).split("{")[0]


def assert_chinese(out: str, hint: str | None) -> None:
    """Every printed line but the blank ones, and every hint's own words after its step, are Chinese."""
    for line in out.splitlines():
        assert not line.strip() or CJK.search(line), f"an English line in the Chinese output: {line!r}"
    if hint is None:
        return
    steps = [line.strip()[2:] for line in out.splitlines() if line.strip().startswith("✗ ")]
    for line in hint.splitlines():
        if line.startswith(words("Hint: {hint}", "zh")):
            own = line.removeprefix(words("Hint: {hint}", "zh"))
            step = max((s for s in steps if own.startswith(s)), key=len, default="")
            assert CJK.search(own[len(step):]), f"an English hint in the Chinese output: {line!r}"
        elif line.strip().startswith("-> "):
            assert CJK.search(line), f"an English explanation in the Chinese output: {line!r}"


def run(check: str, candidate, capsys, language: str = "en") -> tuple[str, str | None]:
    """(printed lines, hint or None if it passed) with the checks speaking ``language``; any exception but
    the AssertionError fails the test."""
    i18n.set_language(language)
    try:
        getattr(checks, check)(candidate)
        hint = None
    except AssertionError as error:
        hint = str(error)
    return capsys.readouterr().out, hint


def ids(entry):
    return f"{entry[0]}-{entry[1].__name__}"


def test_catalogue_covers_every_check_with_enough_learner_code():
    assert len(WRONG) >= 60 and len(RIGHT) >= 20
    for check in ("spatial_attention", "channel_attention", "squeeze_excitation", "cbam", "eca_kernel_size",
                  "capture_attention", "localisation_score"):
        verdicts = Counter(impl.verdict for name, impl in CATALOGUE if name == check)
        assert verdicts["wrong"] >= 8 and verdicts["right"] >= 4, (check, verdicts)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize("entry", WRONG, ids=ids)
def test_wrong_learner_code_fails_with_its_hint(entry, language, capsys):
    check, impl = entry
    out, hint = run(check, impl, capsys, language)
    assert hint is not None, f"{impl.__name__} was accepted:\n{out}"
    assert "✗" in out
    for phrase in chinese.phrases(impl, language):
        assert phrase in hint, f"{phrase!r} not in the hint:\n{hint}"
    assert "could not use what your code returned" not in hint  # every failure is named, not a fallback
    assert words(FALLBACK, language) not in hint
    assert "traceback above" not in hint
    if language == "zh":
        assert_chinese(out, hint)


@pytest.mark.parametrize("language", i18n.LANGUAGES)
@pytest.mark.parametrize("entry", RIGHT, ids=ids)
def test_right_learner_code_passes(entry, language, capsys):
    check, impl = entry
    out, hint = run(check, impl, capsys, language)
    assert hint is None, f"{impl.__name__} was rejected:\n{out}\n{hint}"
    assert out.rstrip().endswith(words("All checks passed.", language)) and "✗" not in out
    if language == "zh":
        assert_chinese(out, hint)


def test_the_chinese_phrases_belong_to_the_catalogue():
    """Every Chinese counterpart is one the catalogue expects, and is Chinese (not the English left as is)."""
    expected = {phrase for _, impl in WRONG for phrase in impl.phrases}
    assert set(chinese.CHINESE) <= expected, f"no learner code expects {set(chinese.CHINESE) - expected}"
    assert all(CJK.search(text) for text in chinese.CHINESE.values())


@pytest.mark.parametrize("check, reference", [
    ("spatial_attention", scattn.SpatialAttention),
    ("spatial_attention", functools.partial(scattn.SpatialAttention, batch_norm=True)),
    ("channel_attention", scattn.ChannelAttention),
    ("channel_attention", functools.partial(scattn.ChannelAttention, bias=True)),
    ("squeeze_excitation", scattn.SqueezeExcitation),
    ("cbam", scattn.CBAM),
    ("cbam", functools.partial(scattn.CBAM, mlp_bias=True, batch_norm=True)),
    ("eca_kernel_size", scattn.eca_kernel_size),
    ("capture_attention", maps_module.capture_attention),
    ("localisation_score", maps_module.localisation_score),
], ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_package_passes_its_own_checks(check, reference, language, capsys):
    out, hint = run(check, reference, capsys, language)
    assert hint is None, f"{out}\n{hint}"


# ---- whatever the learner's code returns, a ✗ line and a hint --------------------------------------

BAD_TENSORS = {  # what a forward may return instead of x * gate
    "None": lambda x: None,
    "tuple": lambda x: (x, x),
    "float64": lambda x: x.double(),
    "numpy": lambda x: x.detach().numpy(),
    "bound method": lambda x: x.detach,
    "list": lambda x: [x],
}


def _module(check: str, make):
    """A learner class with the layers ``check`` looks for, whose forward returns ``make(x)``."""

    class Returns(nn.Module):
        def __init__(self, channels=None, reduction=16, kernel_size=7, order="channel-spatial"):
            super().__init__()
            if order not in cbam.ORDERS:
                raise ValueError(f"order must be one of {cbam.ORDERS}")
            if check in ("spatial_attention", "cbam"):
                self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)
            if check != "spatial_attention":
                hidden = max(1, channels // reduction)
                self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

        def forward(self, x):
            return make(x)

    return Returns


BAD_VALUES = {
    "eca_kernel_size": {"None": None, "tuple": (3, 3), "float64": np.float64(3.0), "numpy": np.array([3]),
                        "bound method": (3).bit_length, "list": [3]},
    "capture_attention": {"None": None, "tuple": ({}, []), "float64": np.float64(0.5), "numpy": np.zeros(3),
                          "bound method": {}.copy, "list": [torch.zeros(1)]},
}


def _score_returning(kind):
    def score(maps, boxes, canvas_size):
        up = F.interpolate(maps[:, None], size=(canvas_size, canvas_size), mode="bilinear", align_corners=False)
        idx = up.flatten(1).argmax(1)
        y, x = idx // canvas_size, idx % canvas_size
        inside = (boxes[:, 0] <= x) & (x < boxes[:, 2]) & (boxes[:, 1] <= y) & (y < boxes[:, 3])
        return {"None": None, "tuple": (inside.float().mean().item(), inside), "float64": inside.double(),
                "numpy": inside.numpy(), "bound method": inside.float().mean, "list": inside.tolist()}[kind]

    return score


def _bad_candidate(check: str, kind: str):
    if check in BAD_VALUES:
        return lambda *args: BAD_VALUES[check][kind]
    if check == "localisation_score":
        return _score_returning(kind)
    return _module(check, BAD_TENSORS[kind])


@pytest.mark.parametrize("kind", list(BAD_TENSORS))
@pytest.mark.parametrize("check", ["spatial_attention", "channel_attention", "squeeze_excitation", "cbam",
                                   "eca_kernel_size", "capture_attention", "localisation_score"])
@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_a_return_of_the_wrong_type_is_a_cross_not_a_crash(check, kind, language, capsys):
    out, hint = run(check, _bad_candidate(check, kind), capsys, language)
    assert hint is not None and "✗" in out
    assert "could not use what your code returned" not in hint, hint
    assert words(FALLBACK, language) not in hint, hint
    assert "Traceback" not in hint and "scattn/checks" not in hint
    if language == "zh":
        assert_chinese(out, hint)


# ---- exceptions: the learner's own lines, then a hint ------------------------------------------------

def test_an_exception_shows_the_learners_lines_not_the_checkers(capsys):
    out, hint = run("spatial_attention", spatial.MaxOverSpace, capsys)
    assert "raised RuntimeError" in hint
    assert "learner_code" in hint and "spatial.py" in hint  # the learner's file and line
    assert "return x * torch.sigmoid(self.conv(torch.cat([avg, mx], dim=1)))" in hint
    assert CHECKS_DIR not in hint and "torch/nn" not in hint
    assert "traceback above" not in hint


def test_an_exception_without_learner_frames_gets_no_reference_to_lines_above(capsys):
    class Unbuildable(nn.Module):
        __init__ = None  # calling the class raises inside Python itself, not in learner code

    out, hint = run("spatial_attention", Unbuildable, capsys)
    assert "✗" in out and "shown above" not in hint and "traceback above" not in hint


def test_an_instance_or_a_result_instead_of_the_class_or_function(capsys):
    out, hint = run("spatial_attention", spatial.LikeTheSolution(kernel_size=7), capsys)
    assert "pass the class itself" in hint and "✗" in out
    out, hint = run("eca_kernel_size", eca.like_the_solution(64), capsys)
    assert "without calling it" in hint and "✗" in out


def test_report_turns_any_exception_in_a_step_into_a_cross(capsys):
    report = checks.Report("title")
    with report.step("a step whose code breaks"):
        raise KeyError("anything")
    with report.step("a step that passes"):
        pass
    with pytest.raises(AssertionError, match="a step whose code breaks"):
        report.finish()
    out = capsys.readouterr().out
    assert "✗ a step whose code breaks" in out and "✓ a step that passes" in out


def test_report_stops_after_a_failed_step(capsys):
    report = checks.Report("title")
    with report.step("first"):
        raise checks.Mistake("the hint")
    with pytest.raises(AssertionError, match="Hint: first: the hint"):
        report.stop_if_failed()
    assert "the other checks run once the ✗ above is fixed" in capsys.readouterr().out


# ---- the checks' own inputs ---------------------------------------------------------------------------

def test_localisation_edge_cases_are_what_they_say():
    for what, edge_maps, boxes, expected, _hint in localisation_check._edge_cases():
        assert maps_module.localisation_score(edge_maps, boxes, localisation_check.S) == expected, what


def test_localisation_one_pixel_boxes_tell_the_upsampling_modes_apart():
    g = torch.Generator().manual_seed(0)
    coarse = localisation_check._coarse_maps(32, 10, g)
    right = localisation_check._peaks(coarse, "bilinear", False)
    assert torch.equal(right, maps_module.peak_positions(coarse, localisation_check.S))
    for mode, corners in localisation_check.MODES:
        other = localisation_check._peaks(coarse, mode, corners)
        assert (other != right).any(dim=1).float().mean() >= 0.1, mode  # a learner using it fails


# ---- accuracy -------------------------------------------------------------------------------------------

class _Constant(nn.Module):
    def __init__(self, label):
        super().__init__()
        self.label = label
        self.bias = nn.Parameter(torch.zeros(3))

    def forward(self, x):
        return F.one_hot(torch.full((x.shape[0],), self.label), 3).float() + self.bias


def test_accuracy_check_reports_and_returns_the_accuracy(capsys):
    loader = [(torch.zeros(4, 1, 2, 2), torch.tensor([0, 0, 0, 1]))]
    assert checks.accuracy(_Constant(0), loader, 0.7) == pytest.approx(0.75)
    assert "test accuracy 75.0%" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="75.0% < 80%"):
        checks.accuracy(_Constant(0), loader, 0.8)
    with pytest.raises(ValueError, match=r"target \(an accuracy, e.g. 0.93\) must be a finite number in \(0, 1\]"):
        checks.accuracy(_Constant(0), loader, 93)


@pytest.mark.parametrize("kind", list(BAD_TENSORS))
def test_accuracy_with_a_model_returning_the_wrong_type_is_a_cross(kind, capsys):
    class Returns(_Constant):
        def forward(self, x):
            return BAD_TENSORS[kind](super().forward(x))

    loader = [(torch.zeros(4, 1, 2, 2), torch.tensor([0, 0, 0, 1]))]
    if kind == "float64":  # float64 logits are still logits: evaluate scores them
        assert checks.accuracy(Returns(0), loader, 0.7) == pytest.approx(0.75)
        return
    with pytest.raises(AssertionError, match="evaluating your model raised"):
        checks.accuracy(Returns(0), loader, 0.7)
    assert "✗ reaches the target accuracy" in capsys.readouterr().out
