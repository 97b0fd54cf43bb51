"""Sphinx extension for the course website, and the one place that defines its builds.

The website is two Jupyter Book builds (``BOOKS``): the English course, whose book root is the
repository root (docs/_config.yml, docs/_toc.yml), and the Chinese edition, whose book root is
``zh/`` (docs/_config_zh.yml, zh/_toc.yml). The Chinese site is published inside the English
one, under ``zh/``, with its own navigation and its own search index. So on the site every
page's address is its path in the repository, ``.html`` for ``.md`` and ``.ipynb``.

Both configurations load this extension:

- The repository and site addresses come from pyproject.toml's ``[project.urls]``, the one
  place that names them (the notebooks' Colab badges read the same table).
- Every page gets an "Open in Colab" badge: notebooks carry one as their first cell; a
  markdown page gets one at its top that opens the first notebook of its folder (the book's
  first notebook for pages outside notebooks/, exercises/ and solutions/), in its own book:
  a page of the Chinese site opens ``zh/notebooks/...``.
- A link from a page of one book to a page of the other (the English README to
  ``zh/README.md``, a Chinese notebook to ``../../docs/statistics.md``) becomes a relative link
  to that page on the site; while the other book is not built, to the file on GitHub. Any
  other link is left to Sphinx, so a broken one still fails the strict build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
SUFFIXES = (".md", ".ipynb")


@dataclass(frozen=True)
class Book:
    """One Jupyter Book build of the site."""

    name: str
    folder: str  # the book's root in the repository, and its place on the site ("" for the English)
    config: str  # its Jupyter Book configuration, relative to the repository root
    toc: str  # its table of contents, relative to the repository root
    needs: str = ""  # a folder that must exist for the book to be built ("" for always)

    def source(self, root: Path = ROOT) -> Path:
        return Path(root) / self.folder if self.folder else Path(root)

    def ready(self, root: Path = ROOT) -> bool:
        return not self.needs or (Path(root) / self.needs).is_dir()


BOOKS = (
    Book("en", "", "docs/_config.yml", "docs/_toc.yml"),
    # Built once the edition exists (`make zh` writes zh/notebooks from translations/zh/).
    Book("zh", "zh", "docs/_config_zh.yml", "zh/_toc.yml", needs="zh/notebooks"),
)


def book_of(srcdir, root: Path = ROOT) -> Book:
    """The book whose root is ``srcdir``."""
    folder = Path(srcdir).resolve().relative_to(Path(root).resolve()).as_posix()
    for book in BOOKS:
        if book.folder == ("" if folder == "." else folder):
            return book
    raise RuntimeError(f"{srcdir} is the root of none of the site's books: {BOOKS}")


def toc_pages(book: Book, root: Path = ROOT) -> list[str]:
    """The pages of ``book`` in table-of-contents order, as paths in the repository
    (``zh/notebooks/00_start_here.ipynb``): its root, files and globs, expanded as Jupyter Book
    expands them (a glob matches the names without their suffix, sorted)."""
    import yaml

    source = book.source(root)
    toc = yaml.safe_load((Path(root) / book.toc).read_text(encoding="utf-8"))

    def files(docname: str) -> list[Path]:
        return [source / f"{docname}{s}" for s in SUFFIXES if (source / f"{docname}{s}").is_file()]

    def walk(entry) -> list[Path]:
        found = []
        if isinstance(entry, dict):
            for key in ("root", "file"):
                if key in entry:
                    found += files(entry[key])
            if "glob" in entry:
                matches = {p.with_suffix("") for s in SUFFIXES for p in source.glob(f"{entry['glob']}{s}")}
                found += [f for docname in sorted(matches, key=lambda p: p.relative_to(source).as_posix())
                          for f in files(docname.relative_to(source).as_posix())]
            for key in ("parts", "chapters", "sections"):
                for sub in entry.get(key, []):
                    found += walk(sub)
        return found

    return [p.relative_to(root).as_posix() for p in walk(toc)]


def project_urls(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """The ``[project.urls]`` table as a dict (a regex, so Python 3.10 needs no toml package)."""
    text = pyproject.read_text(encoding="utf-8")
    table = re.search(r"^\[project\.urls\]\s*$(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    if table is None:
        raise RuntimeError(f"{pyproject} has no [project.urls] table")
    return dict(re.findall(r'^\s*"?([\w ]+?)"?\s*=\s*"([^"]+)"', table.group(1), re.MULTILINE))


def site_url(book: Book) -> str:
    """Where ``book`` is published: the Documentation address, plus its folder."""
    base = project_urls()["Documentation"]
    return base + (f"{book.folder}/" if book.folder else "")


def colab_url(repository: str, notebook: str) -> str:
    return repository.replace("https://github.com/", "https://colab.research.google.com/github/") + \
        f"/blob/main/{notebook}"


def colab_target(docname: str, srcdir: Path, root: Path = ROOT) -> str:
    """The notebook a markdown page's badge opens, as a path in the repository: the first one in
    the page's folder, else the book's first (in ``notebooks/`` under the book's root)."""
    folder = docname.rpartition("/")[0]
    for candidate in (folder, "notebooks"):
        found = sorted((Path(srcdir) / candidate).glob("*.ipynb")) if candidate else []
        if found:
            return found[0].resolve().relative_to(Path(root).resolve()).as_posix()
    raise RuntimeError(f"no notebook found under {srcdir}/notebooks/ for the Colab badges")


def _config_inited(app, config):
    urls, book = project_urls(), book_of(app.srcdir)
    config.html_theme_options["repository_url"] = urls["Repository"]
    # The branch the badges open (Jupyter Book's default, "master", is set before this runs), and
    # where the book lies in the repository: the theme's launch buttons open zh/notebooks/... too.
    config.html_theme_options["repository_branch"] = "main"
    config.html_theme_options["path_to_docs"] = book.folder
    config.html_theme_options["use_repository_button"] = True
    config.html_baseurl = site_url(book)


def _source_read(app, docname, source):
    if Path(app.env.doc2path(docname)).suffix != ".md":
        return  # notebooks carry their own badge cell
    target = colab_target(docname, Path(app.srcdir))
    url = colab_url(app.config.html_theme_options["repository_url"], target)
    source[0] = f"[![Open In Colab]({BADGE})]({url})\n\n" + source[0]


def _builder_inited(app):
    """{path in the repository: its book} for the pages of the books other than this one."""
    this = book_of(app.srcdir)
    app.scattn_other_pages = {page: book for book in BOOKS if book != this and (ROOT / book.toc).exists()
                              for page in toc_pages(book)}


def _links_to_other_books(app, doctree):
    """Turn a link to a page of the other book into a link to that page on the site (see above).

    MyST makes a link to a ``.md`` or ``.ipynb`` file a ``pending_xref`` to the file's docname;
    for a file outside this book, or excluded from it, that docname is not one of the book's
    (``../docs/statistics``, ``zh/README``). Runs before the environment collectors (priority
    400 < 500) so no such file is collected as a download.
    """
    from docutils import nodes
    from sphinx import addnodes

    srcdir = Path(app.srcdir)
    here = (srcdir / app.env.docname).relative_to(ROOT).as_posix() + ".html"  # this page's address
    for node in list(doctree.findall(addnodes.pending_xref)):
        if node.get("reftype") != "myst" or node.get("refdomain") != "doc":
            continue
        if node["reftarget"] in app.env.found_docs:
            continue
        base = Path(os.path.normpath(srcdir / node["reftarget"]))
        page = next((base.with_name(base.name + s) for s in SUFFIXES if base.with_name(base.name + s).is_file()), None)
        if page is None or not page.is_relative_to(ROOT):
            continue
        path = page.relative_to(ROOT).as_posix()
        book = app.scattn_other_pages.get(path)
        if book is None:
            continue  # not a page of another book: Sphinx reports it as it would
        anchor = f"#{node['reftargetid']}" if node.get("reftargetid") else ""
        if book.ready():
            url = os.path.relpath(Path(path).with_suffix(".html").as_posix(), os.path.dirname(here) or ".")
        else:
            url = f"{project_urls()['Repository']}/blob/main/{path}"
        reference = nodes.reference("", "", refuri=url + anchor, internal=book.ready())
        reference += [child.deepcopy() for child in node.children] or [nodes.Text(path)]
        node.replace_self(reference)


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("builder-inited", _builder_inited)
    app.connect("source-read", _source_read)
    app.connect("doctree-read", _links_to_other_books, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# ---- the builds, as `make site` and tests/test_site.py run them ---------------------------------

def build_command(out: Path, root: Path = ROOT, book: Book = BOOKS[0]) -> list[str]:
    """Jupyter Book 1's build of one book, strict: any warning (a broken internal link, a missing
    image, an unknown reference: nitpicky) fails it, after reporting all of them."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return [str(jupyter_book), "build", str(book.source(root)), "--config", str(Path(root) / book.config),
            "--toc", str(Path(root) / book.toc), "--path-output", str(work_dir(out, book)),
            "--warningiserror", "--nitpick", "--keep-going"]


def work_dir(out: Path, book: Book = BOOKS[0]) -> Path:
    """Where Jupyter Book builds ``book`` (its doctrees and its own html)."""
    return Path(out) / book.folder if book.folder else Path(out)


def html_dir(out: Path, book: Book = BOOKS[0]) -> Path:
    """Where ``book`` lands in the servable site: ``<out>/_build/html``, the Chinese under ``zh/``."""
    site = Path(out) / "_build" / "html"
    return site / book.folder if book.folder else site


def build(out: Path, root: Path = ROOT, books=BOOKS, capture: bool = False, timeout: float | None = None) -> dict:
    """Build ``books`` in order into ``out`` and put each in its place in the site.

    Returns {book name: CompletedProcess, or None for a book that is not ready (not built)}, and
    each build's seconds in ``.seconds`` of its CompletedProcess."""
    done = {}
    for book in books:
        if not book.ready(root):
            done[book.name] = None
            continue
        start = time.perf_counter()
        result = subprocess.run(build_command(out, root, book), capture_output=capture, text=True, timeout=timeout)
        result.seconds = time.perf_counter() - start
        built, place = Path(work_dir(out, book)) / "_build" / "html", html_dir(out, book)
        if book.folder and built.is_dir():
            shutil.rmtree(place, ignore_errors=True)
            shutil.copytree(built, place)
        done[book.name] = result
    return done


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "site").resolve()
    results = build(out)
    print()
    for book in BOOKS:
        result = results[book.name]
        if result is None:
            print(f"{book.name}: not built: {book.needs}/ does not exist yet (make zh builds the Chinese edition)")
        else:
            print(f"{book.name}: {'built' if result.returncode == 0 else 'FAILED'} in {result.seconds:.0f} s, "
                  f"{html_dir(out, book)}/ (to be published at {site_url(book)})")
    failed = any(r is not None and r.returncode != 0 for r in results.values())
    if not failed:
        print(f"\nThe site is in {html_dir(out)}/ (static files: serve that folder, or open index.html).")
    sys.exit(1 if failed else 0)
