"""The checks' words in two languages: the code's templates and the Chinese catalogue held together.

Every learner-facing sentence of ``scattn/checks/`` is a ``t("...")`` call whose first
argument is the English template itself; ``scattn/locale/zh.json`` maps each template to
its Chinese one. These tests read the templates from the code's syntax trees: every one
has a Chinese entry with the same placeholders, no entry is left over when a sentence
changes, and no sentence reaches the learner without ``t``. Then they run a real check
in both languages.
"""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path

import pytest
from learner_code import spatial

import scattn
from scattn import checks, i18n

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "scattn"
CATALOGUE = PACKAGE / "locale" / "zh.json"
CJK = re.compile(r"[\u4e00-\u9fff]")


# ---- the templates in the code ------------------------------------------------------------------

def is_t(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t"


def imports_t(tree: ast.AST) -> bool:
    return any(isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] == "i18n"
               and any(alias.name == "t" for alias in node.names) for node in ast.walk(tree))


def translating_modules() -> list[Path]:
    """Every module of scattn/checks/, and any other module of the package that imports i18n's t."""
    found = set(PACKAGE.glob("checks/*.py"))
    found.update(m for m in PACKAGE.rglob("*.py") if imports_t(ast.parse(m.read_text())))
    return sorted(found)


def templates_in(source: str, where: str) -> tuple[dict[str, list[str]], list[str]]:
    """({template: [file:line, ...]}, [file:line of each t(...) whose first argument is not a string literal])."""
    found: dict[str, list[str]] = {}
    not_literal = []
    for node in ast.walk(ast.parse(source)):
        if not is_t(node):
            continue
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            found.setdefault(first.value, []).append(f"{where}:{node.lineno}")
        else:
            not_literal.append(f"{where}:{node.lineno}")
    return found, not_literal


def code_templates() -> tuple[dict[str, list[str]], list[str]]:
    found: dict[str, list[str]] = {}
    not_literal = []
    for module in translating_modules():
        templates, bad = templates_in(module.read_text(), str(module.relative_to(ROOT)))
        for template, where in templates.items():
            found.setdefault(template, []).extend(where)
        not_literal += bad
    return found, not_literal


def chinese() -> dict[str, str]:
    return json.loads(CATALOGUE.read_text(encoding="utf-8"))


def placeholders(template: str) -> set[tuple[str, str | None, str]]:
    """{(name, conversion, format spec)} of a str.format template."""
    return {(name, conversion, spec) for _, name, spec, conversion in string.Formatter().parse(template)
            if name is not None}


def test_every_t_call_has_a_literal_template():
    _, not_literal = code_templates()
    assert not not_literal, f"t(...) needs the English template as a string literal (the drift test reads it): " \
                            f"{not_literal}"
    assert len(code_templates()[0]) > 150  # the checks' sentences were found


def test_a_t_call_without_a_literal_is_found():
    source = 'HOW = "text"\nt(HOW)\nt(f"a {x}")\nt("a" + b)\nt()\nt("fine {x}", x=1)\n'
    found, not_literal = templates_in(source, "m.py")
    assert set(found) == {"fine {x}"} and not_literal == ["m.py:2", "m.py:3", "m.py:4", "m.py:5"]


def test_every_template_has_a_chinese_entry():
    templates, _ = code_templates()
    missing = {template: where for template, where in templates.items() if template not in chinese()}
    assert not missing, f"templates without a Chinese entry in {CATALOGUE.relative_to(ROOT)}: {missing}"


def test_the_catalogue_has_no_entry_the_code_no_longer_uses():
    templates, _ = code_templates()
    unused = sorted(set(chinese()) - set(templates))
    assert not unused, f"entries no t(...) uses any more (remove or re-key them): {unused}"


def test_each_entry_keeps_its_templates_placeholders():
    for english, translated in chinese().items():
        assert placeholders(translated) == placeholders(english), (english, translated)
        values = {name: 0.5 if spec else "x" for name, _, spec in placeholders(english)}
        assert english.format(**values) and translated.format(**values)  # both are well-formed templates


def _outside_brackets(text: str) -> str:
    """``text`` without what stands in ASCII brackets (code, formulas, placeholders), innermost first."""
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}", " ", text)
    return text


def test_the_chinese_is_chinese_with_full_width_punctuation():
    for english, translated in chinese().items():
        words = re.sub(r"\{[^{}]*\}", "", english)
        if re.search(r"[A-Za-z]{3,}", words):
            assert CJK.search(translated), f"left in English: {translated!r}"
        prose = _outside_brackets(translated)
        half_width = re.search(r"[\u4e00-\u9fff][,;:?!]|[,;:?!][\u4e00-\u9fff]", prose)
        assert not half_width, f"ASCII punctuation in Chinese text (use ，；：？！): {translated!r}"


def test_the_catalogue_is_package_data_loaded_once():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "locale/*.json" in pyproject["tool"]["setuptools"]["package-data"]["scattn"]
    assert i18n.catalogue("zh") == chinese() and i18n.catalogue("zh") is i18n.catalogue("zh")
    assert i18n.catalogue("en") == {}


# ---- no learner-facing string outside t ---------------------------------------------------------

SENTENCE_CALLS = {"Report": [0], "Mistake": [0], "describe": [1], "diagnose": [3], "print": [0]}
SENTENCE_METHODS = {"step", "note"}
SENTENCE_KEYWORDS = {"what", "layers", "hint"}
RETURNS_SENTENCES = {"explain", "kind", "_stored", "_bilinear", "_mode_hints"}


def _plain_strings(node: ast.AST) -> list[ast.AST]:
    """String literals with words in them (not code punctuation) that stand outside any t(...) call."""
    if is_t(node):
        return []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node] if re.search(r"[A-Za-z]{2,}", node.value) else []
    return [found for child in ast.iter_child_nodes(node) for found in _plain_strings(child)]


def _sentences(tree: ast.AST) -> list[ast.AST]:
    """The expressions that become words a learner reads: what report.step, Report, report.note, Mistake,
    describe, diagnose and print get; the hints' `what` and `layers`; the weights' names in a
    gradients_reach; the hints of the mutants; what explain, kind and the hint helpers return (the
    values of a dict they return)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else None
            for i in SENTENCE_CALLS.get(name, []):
                found += node.args[i:i + 1]
            if isinstance(func, ast.Attribute) and func.attr in SENTENCE_METHODS:
                found += node.args[:1]
            if isinstance(func, ast.Attribute) and func.attr == "append" and \
                    isinstance(func.value, ast.Attribute) and func.value.attr in ("lines", "hints"):
                found += node.args[:1]  # the report's own lines
            if name == "gradients_reach" and len(node.args) > 2 and isinstance(node.args[2], ast.Dict):
                found += node.args[2].keys
            found += [k.value for k in node.keywords if k.arg in SENTENCE_KEYWORDS]
        elif isinstance(node, ast.FunctionDef) and node.name.endswith("_mutants"):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Dict):
                    found += [key for key in inner.keys if key is not None]
                elif isinstance(inner, ast.Subscript) and isinstance(inner.ctx, ast.Store):
                    found.append(inner.slice)
        elif isinstance(node, ast.FunctionDef) and node.name in RETURNS_SENTENCES:
            for result in (r.value for r in ast.walk(node) if isinstance(r, ast.Return) and r.value is not None):
                found += result.values if isinstance(result, ast.Dict) else [result]  # a dict: its values
    return found


def untranslated(source: str, where: str) -> list[str]:
    return [f"{where}:{s.lineno}: {ast.get_source_segment(source, s) or ''}"[:160]
            for sentence in _sentences(ast.parse(source)) for s in _plain_strings(sentence)]


def test_no_learner_facing_string_is_left_outside_t():
    left = [line for module in sorted(PACKAGE.glob("checks/*.py"))
            for line in untranslated(module.read_text(), str(module.relative_to(ROOT)))]
    assert not left, "wrap these in t(...) and add them to the catalogue:\n" + "\n".join(left)


def test_a_plain_sentence_is_found_wherever_a_learner_reads_it():
    plain = '''
report = Report("A title")
with report.step(f"builds {n} layers"):
    raise Mistake("the hint")
report.note("measured " + str(x))
out = returned(gate, x, what="your module")
diagnose(out, want, mutants, f"for C={c} the output differs")
gradients_reach(m, x, {"the conv's weight": w})
def explain(error):
    return "a hint"
def spatial_mutants(x):
    d = {"the sigmoid is missing": x}
    d["the order is reversed"] = x
    return d
'''
    flagged = {int(line.split(":")[1]) for line in untranslated(plain, "m.py")}
    assert flagged == {2, 3, 4, 5, 6, 7, 8, 10, 12, 13}
    translated = '''
report = Report(t("A title"))
with report.step(t("builds {n} layers", n=n)):
    raise Mistake(t("the hint"))
report.note(t("measured {x}", x=x))
out = returned(gate, x, what=t("your module"), gate="spatial")
gradients_reach(m, x, {t("the conv's weight"): w})
mistake = Mistake(problem)
what = f"{name}({arguments})"
def spatial_mutants(x):
    return {t("the sigmoid is missing"): gate(first="avg")}
'''
    assert untranslated(translated, "m.py") == []


# ---- the language setting -------------------------------------------------------------------------

def test_english_is_the_default_and_scattn_lang_chooses_another(monkeypatch):
    monkeypatch.setattr(i18n, "_chosen", None)  # as in a fresh process
    monkeypatch.delenv("SCATTN_LANG", raising=False)
    assert i18n.language() == "en"
    monkeypatch.setenv("SCATTN_LANG", "zh")
    assert i18n.language() == "zh"
    monkeypatch.setenv("SCATTN_LANG", "klingon")
    assert i18n.language() == "en"
    monkeypatch.setenv("SCATTN_LANG", "zh")
    assert i18n.set_language("en") == "en" and i18n.language() == "en"  # a choice beats the environment


def test_set_language_names_the_languages_it_takes():
    with pytest.raises(ValueError, match="unknown language 'fr'; expected one of 'en', 'zh'"):
        i18n.set_language("fr")
    assert i18n.language() == "en"


def test_t_formats_the_template_in_the_current_language():
    template = "for channels={c}, reduction={r} the hidden width C // r is 0, a layer with no units: use max(1, C // r)"
    assert i18n.t(template, c=8, r=16) == template.format(c=8, r=16)
    i18n.set_language("zh")
    assert i18n.t(template, c=8, r=16) == chinese()[template].format(c=8, r=16)
    assert "channels=8、reduction=16" in i18n.t(template, c=8, r=16)
    assert i18n.t("no translation of {this}", this="x") == "no translation of x"  # falls back to English
    assert i18n.t("Hint: {hint}", hint="…") == "提示：…"


def test_setup_sets_the_language_only_when_given():
    scattn.setup(language="zh")
    assert i18n.language() == "zh"
    scattn.setup()
    assert i18n.language() == "zh"
    scattn.setup(language="en")
    assert i18n.language() == "en"
    with pytest.raises(ValueError, match="unknown language 'cn'; expected one of 'en', 'zh'"):
        scattn.setup(language="cn")


# ---- a real check in both languages -------------------------------------------------------------

def _run(check, candidate, capsys) -> tuple[list[str], str]:
    """(the printed lines, the hint or "") of ``check(candidate)``."""
    try:
        check(candidate)
        hint = ""
    except AssertionError as error:
        hint = str(error)
    return capsys.readouterr().out.splitlines(), hint


def _marks(lines: list[str]) -> list[str]:
    return [line.strip()[:1] for line in lines if line.strip()[:1] in ("✓", "✗", "-")]


@pytest.mark.parametrize("learner", [spatial.LikeTheSolution, spatial.SumInsteadOfMean, spatial.MaxOverSpace],
                         ids=lambda cls: cls.__name__)
def test_flipping_the_language_flips_a_checks_words_not_its_verdict(learner, capsys):
    english, english_hint = _run(checks.spatial_attention, learner, capsys)
    i18n.set_language("zh")
    chinese_lines, chinese_hint = _run(checks.spatial_attention, learner, capsys)
    i18n.set_language("en")
    again, again_hint = _run(checks.spatial_attention, learner, capsys)

    assert _marks(chinese_lines) == _marks(english) and len(chinese_lines) == len(english)
    assert (again, again_hint) == (english, english_hint)  # back in English, word for word
    assert not any(CJK.search(line) for line in english) and not CJK.search(english_hint)
    assert all(CJK.search(line) for line in chinese_lines if line.strip())
    if learner is spatial.LikeTheSolution:
        assert english[-1] == "All checks passed." and chinese_lines[-1] == "全部检查通过。"
        assert english_hint == chinese_hint == ""
    else:
        assert english_hint.startswith("Hint: ") and chinese_hint.startswith("提示：")
        assert "✗" in "".join(chinese_lines)
    if learner is spatial.MaxOverSpace:  # torch's message and the learner's line stay as they are
        message = "Sizes of tensors must match except in dimension 1"
        assert message in english_hint and message in chinese_hint
        code = "return x * torch.sigmoid(self.conv(torch.cat([avg, mx], dim=1)))"
        assert code in english_hint and code in chinese_hint
        assert "抛出了 RuntimeError" in chinese_hint and "在你的代码中：" in chinese_hint
