"""The Chinese edition stays in step with the English by construction (tools/translate.py):
every markdown cell translated from the English as it is now, code cells identical."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tools import notebooks
from tools import translate as zh

ROOT = Path(__file__).resolve().parents[1]
ENGLISH = zh.english_notebooks()
BUILT = (ROOT / "zh" / "notebooks").exists()  # zh/ itself holds the committed landing pages


# ---- the mechanism, on a scratch repository ---------------------------------------------------------


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A scratch checkout with one English notebook: badge, setup, two markdown cells, one code cell."""
    monkeypatch.setattr(zh, "ROOT", tmp_path)
    monkeypatch.setattr(zh, "CATALOGUE", tmp_path / "translations" / "zh")
    monkeypatch.setattr(zh, "EDITION", tmp_path / "zh")
    monkeypatch.setattr(zh, "SOURCES", ("notebooks",))
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("badge", metadata={"tags": [notebooks.BADGE_TAG]}),
        nbformat.v4.new_code_cell("", metadata={"tags": [notebooks.SETUP_TAG]}),
        nbformat.v4.new_markdown_cell("# 01 · Title\n\nSome prose."),
        nbformat.v4.new_code_cell("print(1 + 1)", outputs=[nbformat.v4.new_output("stream", text="2\n")]),
        nbformat.v4.new_markdown_cell("A second paragraph."),
    ])
    path = tmp_path / "notebooks" / "01_probe.ipynb"
    path.parent.mkdir()
    notebooks.stamp_notebook(nb, path)
    nbformat.write(nb, path)
    return path


def ids(path):
    return [c.id for c in zh.translatable(nbformat.read(path, as_version=4))]


def test_a_notebook_without_translations_is_refused_cell_by_cell(repo):
    assert zh.state(repo) == {"translated": [], "missing": ids(repo), "stale": []}
    assert [c["en"] for c in zh.export(repo)] == ["# 01 · Title\n\nSome prose.", "A second paragraph."]
    problems = zh.build()
    assert len(problems) == 1 and "2 cell(s) without a translation, 0 stale" in problems[0]
    assert not zh.twin(repo).exists()


def test_the_twin_has_the_translations_the_english_code_and_its_own_badge_and_setup(repo):
    first, second = ids(repo)
    zh.record(repo, {first: "# 01 · 标题\n\n一段文字。", second: "第二段。"})
    assert zh.build() == []
    twin = nbformat.read(zh.twin(repo), as_version=4)
    assert [c.source for c in zh.translatable(twin)] == ["# 01 · 标题\n\n一段文字。", "第二段。"]
    assert "blob/main/zh/notebooks/01_probe.ipynb" in twin.cells[0].source
    assert 'scattn.setup(language="zh")' in twin.cells[1].source
    assert twin.cells[3].source == "print(1 + 1)" and twin.cells[3].outputs[0]["text"] == "2\n"
    assert zh.code_differences(repo) == [] and zh.build(check=True) == []


def test_an_english_change_makes_its_translation_stale_and_the_build_says_which(repo):
    first, second = ids(repo)
    zh.record(repo, {first: "# 01 · 标题", second: "第二段。"})
    nb = nbformat.read(repo, as_version=4)
    nb.cells[4].source = "A second paragraph, changed."
    nbformat.write(nb, repo)
    assert zh.state(repo)["stale"] == [second]
    assert zh.export(repo) == [{"id": second, "en_sha256": zh.sha("A second paragraph, changed."),
                                "en": "A second paragraph, changed.", "old_zh": "第二段。"}]
    assert "1 stale" in zh.build()[0]


def test_a_twin_whose_code_was_edited_by_hand_is_caught_and_a_real_run_is_kept(repo):
    first, second = ids(repo)
    zh.record(repo, {first: "# 01 · 标题", second: "第二段。"})
    zh.build()
    twin = nbformat.read(zh.twin(repo), as_version=4)
    assert twin.metadata["scattn"]["outputs"].startswith("carried over from notebooks/01_probe.ipynb's run")
    twin.cells[3].outputs = [nbformat.v4.new_output("stream", text="2 (a real run in Chinese)\n")]
    twin.metadata["scattn"]["outputs"] = f"{zh.RUN_IN_CHINESE} (cpu profile, 2026-12-06)"  # as tools/claims writes
    nbformat.write(twin, zh.twin(repo))
    zh.build()  # the code is unchanged: the twin's own run stays, and says so
    kept = nbformat.read(zh.twin(repo), as_version=4)
    assert kept.cells[3].outputs[0]["text"].startswith("2 (a real run")
    assert kept.metadata["scattn"]["outputs"].startswith(zh.RUN_IN_CHINESE)
    twin.cells[3].source = "print(2 + 2)"
    nbformat.write(twin, zh.twin(repo))
    assert zh.code_differences(repo) and zh.build(check=True)


def test_chinese_lines_of_one_paragraph_are_joined_and_structure_is_kept():
    kept = "\n\n- 列表\n- 项目\n\n| 甲 | 乙 |\n| 丙 | 丁 |\n\n```\n代码\n代码\n```\nEnglish line\n中文"
    assert zh.join_cjk_lines("第一行，\n第二行。" + kept) == "第一行，第二行。" + kept


def test_links_of_a_twin_point_where_the_twin_can_reach():
    english = zh.ROOT / "notebooks" / "06_x.ipynb"
    text = "[甲](../docs/statistics.md#paired) [乙](07_y.ipynb) [丙](../solutions/ex01.ipynb) [丁](https://a.b/c)"
    site = zh.site_url()
    assert zh.relink(text, english) == (f"[甲]({site}/docs/statistics.html#paired) [乙](07_y.ipynb) "
                                        "[丙](../solutions/ex01.ipynb) [丁](https://a.b/c)")


def test_record_refuses_a_cell_id_the_notebook_does_not_have(repo):
    with pytest.raises(ValueError, match="01_probe.ipynb: no translatable cell with id nope"):
        zh.record(repo, {"nope": "不"})


# ---- the real edition ---------------------------------------------------------------------------------


def test_the_chinese_landing_page_lists_every_notebook_and_links_the_english_edition():
    readme = (ROOT / "zh" / "README.md").read_text(encoding="utf-8")
    linked = re.findall(r"\]\(notebooks/([^)#]+\.ipynb)\)", readme)
    assert linked == [p.name for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    assert "](../README.md)" in readme.split("\n## ")[0]  # the English edition, at the top
    assert "make lab" in readme and "zh/notebooks" in readme

needs_edition = pytest.mark.skipif(not BUILT, reason="the Chinese edition (zh/notebooks) is not built yet: issue 21")


@needs_edition
@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_markdown_cell_is_translated_from_the_english_as_it_is_now(english):
    state = zh.state(english)
    assert not state["missing"] and not state["stale"], \
        f"{len(state['missing'])} missing, {len(state['stale'])} stale: python -m tools.translate export {english}"


@needs_edition
@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_chinese_notebook_has_its_english_twins_code(english):
    assert zh.code_differences(english) == []


@needs_edition
def test_the_chinese_edition_is_up_to_date():
    assert zh.build(check=True) == [], "make zh"


@needs_edition
@pytest.mark.parametrize("english", ENGLISH, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_translations_keep_the_solution_markers_and_the_math(english):
    """nbgrader reads the solution markers; the equations and code spans mean the same in both."""
    import re

    nb = nbformat.read(english, as_version=4)
    catalogue = zh.load_catalogue(english)
    for cell in zh.translatable(nb):
        text = catalogue[cell.id]["zh"]
        for marker in (notebooks.BEGIN, notebooks.END):
            assert cell.source.count(marker) == text.count(marker), (cell.id, marker)
        equations = re.compile(r"\$\$.*?\$\$", re.S)
        assert sorted(equations.findall(cell.source)) == sorted(equations.findall(text)), \
            f"{english.name} cell {cell.id}: a display equation differs from the English"
