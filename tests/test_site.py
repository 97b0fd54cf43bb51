"""The course website: Jupyter Book builds it strictly from the committed notebooks and docs.

The builds are the ones `make site` runs (docs/_ext/scattn_site.py, BOOKS): the English book,
then the Chinese edition into the site's zh/ folder, with its own navigation and search.
Warnings are errors, so a broken internal link, a missing image or an unknown reference fails
them. Needs the `site` extra (`pip install -e .[site]`; `make test` installs it), and skips
without it; the Chinese site's tests skip while the edition is not built (no zh/notebooks).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(importlib.util.find_spec("jupyter_book") is None,
                                reason="the site extra is not installed (pip install -e .[site]; make test does it)")

sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import scattn_site  # noqa: E402

FOLDERS = ("notebooks", "exercises", "solutions", "docs")
EN, ZH = scattn_site.BOOKS
NOT_BUILT = "the Chinese edition is not built yet (no zh/notebooks: make zh, issue 21)"


def _build(out: Path, root: Path = ROOT, book=EN) -> subprocess.CompletedProcess:
    return subprocess.run(scattn_site.build_command(out, root, book), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    """Both books, built as `make site` builds them: (the site's folder, {book: its build})."""
    out = tmp_path_factory.mktemp("site")
    return scattn_site.html_dir(out), scattn_site.build(out, capture=True, timeout=600)


def _check(done, name):
    assert done.returncode == 0, f"the strict {name} build failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


@pytest.fixture(scope="module")
def site(built) -> Path:
    html, done = built
    _check(done["en"], "English site")
    return html


@pytest.fixture(scope="module")
def zh_site(built) -> Path:
    """The whole site's folder, once the Chinese site has built into its zh/ (skips before)."""
    html, done = built
    if done["zh"] is None:
        pytest.skip(NOT_BUILT)
    _check(done["zh"], "Chinese site")
    return html


def _sources() -> list[Path]:
    """What the site must show, in course order: the same globs as docs/_toc.yml."""
    pages = [ROOT / "README.md"] + sorted((ROOT / "notebooks").glob("*.ipynb"))
    for folder in ("exercises", "solutions"):
        pages += [ROOT / folder / "README.md"] + sorted((ROOT / folder).glob("ex*.ipynb"))
    return pages + sorted((ROOT / "docs").glob("*.md"))


def _zh_sources() -> list[Path]:
    """What the Chinese site must show, in its order: the same globs as zh/_toc.yml."""
    zh = ROOT / "zh"
    pages = [zh / "README.md"] + sorted((zh / "notebooks").glob("*.ipynb"))
    for folder in ("exercises", "solutions"):
        pages += [zh / folder / "README.md"] + sorted((zh / folder).glob("ex*.ipynb"))
    return pages


def _page(site: Path, source: Path) -> Path:
    """A page's address on the site is its path in the repository (zh/ pages included)."""
    return site / source.relative_to(ROOT).with_suffix(".html")


def _nav(page: Path) -> str:
    nav = re.search(r'<nav class="[^"]*bd-docs-nav.*?</nav>', page.read_text(encoding="utf-8"), re.DOTALL)
    assert nav, f"no navigation sidebar in {page}"
    return nav.group(0)


def _search_index(folder: Path) -> dict:
    text = (folder / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1:text.rindex(")")])


def test_every_notebook_and_doc_has_a_page(site):
    missing = [str(p.relative_to(ROOT)) for p in _sources() if not _page(site, p).exists()]
    assert missing == []
    assert (site / "index.html").exists()


def test_the_table_of_contents_follows_the_course_order(site):
    hrefs = [h.split("#")[0] for h in re.findall(r'href="([^"]+\.html[^"]*)"', _nav(site / "README.html"))]
    expected = [p.relative_to(ROOT).with_suffix(".html").as_posix() for p in _sources()[1:]]
    assert [h for h in hrefs if h in expected] == expected


def test_the_english_site_leaves_the_chinese_edition_to_its_own(site):
    assert not [h for h in re.findall(r'href="([^"]+)"', _nav(site / "README.html")) if h.startswith("zh/")]
    docnames = _search_index(site)["docnames"]
    assert not [d for d in docnames if d.split("/")[0] in ("zh", "translations", "tools")], docnames
    assert set(docnames) == {p.relative_to(ROOT).with_suffix("").as_posix() for p in _sources()}


def test_the_toc_reader_expands_the_globs_as_jupyter_book_does(site):
    # scattn_site.toc_pages (which the cross-book links use) against the pages the build made.
    assert scattn_site.toc_pages(EN) == [p.relative_to(ROOT).as_posix() for p in _sources()]
    if ZH.ready():
        assert scattn_site.toc_pages(ZH) == [p.relative_to(ROOT).as_posix() for p in _zh_sources()]


def test_every_page_has_a_colab_badge(site):
    for source in _sources():
        html = _page(site, source).read_text()
        links = re.findall(r'href="(https://colab\.research\.google\.com/github/[^"]+)"', html)
        assert links, f"{source.name}: no Colab link"
        if source.suffix == ".ipynb":  # a notebook's badge opens that very notebook
            assert any(link.endswith(source.relative_to(ROOT).as_posix()) for link in links), source


def test_notebook_pages_show_committed_outputs_and_figures(site):
    for source in _sources():
        if source.suffix != ".ipynb":
            continue
        nb = nbformat.read(source, as_version=4)
        pngs = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        html = _page(site, source).read_text()
        images = re.findall(r'<img[^>]+src="(\.\./_images/[^"]+)"', html)
        assert len(images) == pngs, f"{source.name}: {len(images)} figures on the page, {pngs} in the notebook"
        for src in images:
            assert (_page(site, source).parent / src).resolve().is_file(), src
        if nb.metadata.get("widgets"):  # saved widget state travels with the page
            assert "application/vnd.jupyter.widget-state+json" in html, source.name


def test_committed_outputs_are_shown_not_recomputed(site):
    # A line that a real run printed into notebook 05's committed outputs appears on its page.
    source = next((ROOT / "notebooks").glob("*training_with_attention*.ipynb"))
    nb = nbformat.read(source, as_version=4)
    texts = [o["text"].strip().splitlines()[-1] for c in nb.cells if c.cell_type == "code"
             for o in c.outputs if o.get("output_type") == "stream" and o.get("text", "").strip()]
    assert texts, "notebook 05 has no committed printed output"
    html = _page(site, source).read_text()
    assert texts[-1].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in html


def test_search_works_offline(site):
    assert (site / "search.html").exists()
    index = (site / "searchindex.js").read_text()
    assert "cbam" in index.lower() and "notebooks/02_spatial_attention" in index


def test_chinese_text_gets_a_cjk_font(site):
    pages = [_page(site, p) for p in _sources() if "空间" in p.read_text(encoding="utf-8")]
    assert pages, "no page with Chinese text any more: update this test"
    css = (site / "_static" / "cjk.css").read_text()
    assert "Noto Sans CJK SC" in css and "--pst-font-family-base" in css
    for page in pages:
        html = page.read_text()
        assert "空间注意力" in html and "cjk.css" in html, page


def test_site_address_comes_from_pyproject_and_the_readme_links_it(site):
    urls = scattn_site.project_urls()
    assert urls["Repository"] == "https://github.com/scattn/scattn"
    assert urls["Documentation"].startswith("https://")
    assert f'<link rel="canonical" href="{urls["Documentation"]}README.html"' in (site / "README.html").read_text()
    readme = (ROOT / "README.md").read_text()
    assert urls["Documentation"] in readme and "make site" in readme
    # The GitHub front page names the Chinese edition at its top: the folder and its published address.
    top = readme.split("\n## ")[0]
    assert "中文版" in top and "(zh/README.md)" in top and f"<{urls['Documentation']}zh/>" in top
    assert "## 中文版 (Chinese edition)" in readme and "zh/notebooks" in readme and "make lab" in readme


def test_the_build_fails_on_broken_links_missing_images_and_unknown_references(tmp_path):
    book = tmp_path / "book"
    for name in ("_config.yml", "_toc.yml", "_ext/scattn_site.py", "_static/cjk.css"):
        (book / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "docs" / name, book / "docs" / name)
    shutil.copy(ROOT / "pyproject.toml", book)
    (book / "README.md").write_text("# Scratch\n\nSee [the guide](docs/guide.md).\n")
    (book / "docs" / "guide.md").write_text(
        "# Guide\n\n[gone](nowhere.md) and ![figure](missing.png) and {ref}`no-such-label`.\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 · Scratch\n\n[gone](../docs/nope.md)")])
    for folder in ("notebooks", "exercises", "solutions"):
        (book / folder).mkdir()
        (book / folder / "README.md").write_text(f"# {folder}\n")
        nbformat.write(nb, book / folder / ("00_scratch.ipynb" if folder == "notebooks" else "ex01_scratch.ipynb"))
    done = _build(tmp_path / "out", book)
    log = done.stdout + done.stderr
    assert done.returncode != 0
    assert re.search(r"guide\.md:\d+: WARNING: .*nowhere\.md", log), log[-3000:]
    assert re.search(r"WARNING: image file not readable: docs/missing\.png", log), log[-3000:]
    assert re.search(r"WARNING: undefined label: 'no-such-label'", log), log[-3000:]
    assert re.search(r"00_scratch\.ipynb.*WARNING: .*nope\.md", log), log[-3000:]


def test_the_site_build_executes_nothing():
    config = (ROOT / "docs" / "_config.yml").read_text()
    assert re.search(r'^\s*execute_notebooks:\s*"?off"?', config, re.MULTILINE)


def test_toc_is_globs_so_renumbered_notebooks_follow():
    toc = (ROOT / "docs" / "_toc.yml").read_text()
    assert ".ipynb" not in toc
    for folder in FOLDERS:
        assert re.search(rf"glob: {folder}/(ex)?\*", toc), folder
    zh = (ROOT / ZH.toc).read_text(encoding="utf-8")  # relative to the Chinese book's root, zh/
    assert ".ipynb" not in zh and re.search(r"^root: README$", zh, re.MULTILINE)
    assert [c for c in re.findall(r"caption: (\S+)", zh)] == ["课程", "练习", "参考答案"]
    for folder in ("notebooks", "exercises", "solutions"):
        assert re.search(rf"glob: {folder}/(ex)?\*", zh), folder


def test_the_chinese_book_is_built_only_once_the_edition_exists(tmp_path):
    assert not ZH.ready(tmp_path) and EN.ready(tmp_path)
    (tmp_path / "zh" / "notebooks").mkdir(parents=True)
    assert ZH.ready(tmp_path)
    config = (ROOT / ZH.config).read_text(encoding="utf-8")
    assert re.search(r"^\s*language: zh_CN$", config, re.MULTILINE)
    assert re.search(r'^\s*execute_notebooks:\s*"?off"?', config, re.MULTILINE)
    assert "jieba" in (ROOT / "pyproject.toml").read_text()  # Sphinx's Chinese search splits words with it


# ---- the Chinese site (zh/): skipped until the edition is built -----------------------------------


def test_every_chinese_notebook_and_page_has_a_page(zh_site):
    sources = _zh_sources()
    assert len([p for p in sources if p.suffix == ".ipynb"]) == len(list((ROOT / "zh").glob("*/*.ipynb")))
    missing = [str(p.relative_to(ROOT)) for p in sources if not _page(zh_site, p).exists()]
    assert missing == []
    for name in ("index.html", "search.html", "searchindex.js"):  # its own landing, search and index
        assert (zh_site / "zh" / name).exists(), name


def test_the_chinese_navigation_follows_the_chinese_toc_order(zh_site):
    nav = _nav(zh_site / "zh" / "README.html")
    assert re.findall(r'class="caption-text">([^<]+)<', nav) == ["课程", "练习", "参考答案"]
    hrefs = [h.split("#")[0] for h in re.findall(r'href="([^"]+\.html[^"]*)"', nav)]
    expected = [p.relative_to(ROOT / "zh").with_suffix(".html").as_posix() for p in _zh_sources()[1:]]
    assert [h for h in hrefs if h in expected] == expected
    assert not [h for h in hrefs if h.startswith("..")], "the Chinese navigation leads into the English site"


def test_chinese_pages_are_chinese_and_their_badges_open_the_chinese_notebooks(zh_site):
    for source in _zh_sources():
        html = _page(zh_site, source).read_text(encoding="utf-8")
        assert re.search(r'<html lang="zh(-CN)?"', html), f"{source.name}: not marked as Chinese"
        links = re.findall(r'href="(https://colab\.research\.google\.com/github/[^"]+)"', html)
        assert links, f"{source.name}: no Colab link"
        assert all("/blob/main/zh/" in link for link in links), (source.name, links)
        if source.suffix == ".ipynb":  # a notebook's badge opens that very notebook
            assert any(link.endswith(source.relative_to(ROOT).as_posix()) for link in links), source
        assert "cjk.css" in html


def test_the_chinese_search_index_holds_chinese_words(zh_site):
    index = _search_index(zh_site / "zh")
    assert "README" in index["docnames"] and not [d for d in index["docnames"] if d.startswith(("docs/", "zh/"))]
    readme = index["docnames"].index("README")
    text = (ROOT / "zh" / "README.md").read_text(encoding="utf-8")
    def pages_of(word):  # a word in a page's title is indexed with the titles only
        found = [index[kind].get(word, []) for kind in ("terms", "titleterms")]
        return {n for f in found for n in (f if isinstance(f, list) else [f])}

    for word in ("注意力", "练习", "笔记本"):  # words of zh/README.md, each its own term once jieba splits them
        assert word in text
        assert readme in pages_of(word), f"{word!r} does not find zh/README in the search index (jieba installed?)"


def test_the_english_and_chinese_sites_link_to_each_other(zh_site):
    assert 'href="zh/README.html"' in (zh_site / "README.html").read_text(encoding="utf-8")
    assert 'href="../README.html"' in (zh_site / "zh" / "README.html").read_text(encoding="utf-8")
    # Every relative link of a Chinese page (into the English site too: ../../docs/statistics.html)
    # reaches a file of the site.
    for source in _zh_sources():
        page = _page(zh_site, source)
        for href in re.findall(r'href="([^"#:?]+)(?:[#?][^"]*)?"', page.read_text(encoding="utf-8")):
            assert (page.parent / href).resolve().exists(), f"{source.relative_to(ROOT)}: {href} leads nowhere"


def test_links_between_the_books_and_broken_ones_in_the_chinese_book(tmp_path):
    """A scratch repository: its Chinese book's link to the English README and to an English doc
    become links to those pages on the site; a broken link still fails the build."""
    repo = tmp_path / "repo"
    for name in ("_config.yml", "_config_zh.yml", "_toc.yml", "_ext/scattn_site.py", "_static/cjk.css"):
        (repo / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "docs" / name, repo / "docs" / name)
    shutil.copy(ROOT / "pyproject.toml", repo)
    (repo / "zh").mkdir()
    shutil.copy(ROOT / ZH.toc, repo / ZH.toc)
    (repo / "README.md").write_text("# Scratch\n\n[中文版](zh/README.md), [guide](docs/guide.md)\n")
    (repo / "docs" / "guide.md").write_text("# Guide\n")
    (repo / "zh" / "README.md").write_text("# 中文\n\n[English](../README.md) · [指南](../docs/guide.md#guide)"
                                           " · [不存在](nowhere.md)\n", encoding="utf-8")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00 · 草稿\n\n[指南](../../docs/guide.md)")])
    for folder in ("notebooks", "exercises", "solutions"):
        for lang in ("", "zh/"):
            (repo / lang / folder).mkdir(parents=True, exist_ok=True)
            (repo / lang / folder / "README.md").write_text(f"# {folder}\n")
            name = "00_scratch.ipynb" if folder == "notebooks" else "ex01_scratch.ipynb"
            nbformat.write(nb if lang else nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# x")]),
                           repo / lang / folder / name)
    done = scattn_site.build(tmp_path / "out", repo, capture=True, timeout=600)
    assert done["en"].returncode == 0, done["en"].stdout[-3000:]
    log = done["zh"].stdout + done["zh"].stderr
    assert done["zh"].returncode != 0
    warnings = [line for line in log.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "nowhere" in warnings[0], warnings
    html = scattn_site.html_dir(tmp_path / "out")
    zh_readme = (html / "zh" / "README.html").read_text(encoding="utf-8")
    assert 'href="../README.html"' in zh_readme and 'href="../docs/guide.html#guide"' in zh_readme
    assert 'href="../../docs/guide.html"' in (html / "zh" / "notebooks" / "00_scratch.html").read_text(encoding="utf-8")
    assert 'href="zh/README.html"' in (html / "README.html").read_text(encoding="utf-8")
