"""The course website: Jupyter Book builds it strictly from the committed notebooks and docs.

The build is the one `make site` runs (docs/_ext/scattn_site.py): warnings are errors, so a
broken internal link, a missing image or an unknown reference fails it. Needs the `site`
extra (`pip install -e .[site]`; `make test` installs it), and skips without it.
"""

from __future__ import annotations

import importlib.util
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


def _build(out: Path, root: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(scattn_site.build_command(out, root), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = _build(out)
    assert done.returncode == 0, f"the strict site build failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return scattn_site.html_dir(out)


def _sources() -> list[Path]:
    """What the site must show, in course order: the same globs as docs/_toc.yml."""
    pages = [ROOT / "README.md"] + sorted((ROOT / "notebooks").glob("*.ipynb"))
    for folder in ("exercises", "solutions"):
        pages += [ROOT / folder / "README.md"] + sorted((ROOT / folder).glob("ex*.ipynb"))
    return pages + sorted((ROOT / "docs").glob("*.md"))


def _page(site: Path, source: Path) -> Path:
    return site / source.relative_to(ROOT).with_suffix(".html")


def test_every_notebook_and_doc_has_a_page(site):
    missing = [str(p.relative_to(ROOT)) for p in _sources() if not _page(site, p).exists()]
    assert missing == []
    assert (site / "index.html").exists()


def test_the_table_of_contents_follows_the_course_order(site):
    nav = re.search(r'<nav class="[^"]*bd-docs-nav.*?</nav>', (site / "README.html").read_text(), re.DOTALL)
    assert nav, "no navigation sidebar in README.html"
    hrefs = [h.split("#")[0] for h in re.findall(r'href="([^"]+\.html[^"]*)"', nav.group(0))]
    expected = [p.relative_to(ROOT).with_suffix(".html").as_posix() for p in _sources()[1:]]
    assert [h for h in hrefs if h in expected] == expected


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
