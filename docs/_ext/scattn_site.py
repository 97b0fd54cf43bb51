"""Sphinx extension for the course website (docs/_config.yml loads it).

- The repository and site addresses come from pyproject.toml's ``[project.urls]``, the one
  place that names them (the notebooks' Colab badges read the same table).
- Every page gets an "Open in Colab" badge: notebooks carry one as their first cell; a
  markdown page gets one at its top that opens the first notebook of its folder (the course's
  first notebook for pages outside notebooks/, exercises/ and solutions/).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def project_urls(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, str]:
    """The ``[project.urls]`` table as a dict (a regex, so Python 3.10 needs no toml package)."""
    text = pyproject.read_text(encoding="utf-8")
    table = re.search(r"^\[project\.urls\]\s*$(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    if table is None:
        raise RuntimeError(f"{pyproject} has no [project.urls] table")
    return dict(re.findall(r'^\s*"?([\w ]+?)"?\s*=\s*"([^"]+)"', table.group(1), re.MULTILINE))


def colab_url(repository: str, notebook: str) -> str:
    return repository.replace("https://github.com/", "https://colab.research.google.com/github/") + \
        f"/blob/main/{notebook}"


def colab_target(docname: str, srcdir: Path) -> str:
    """The notebook a markdown page's badge opens: the first one in its folder, else the course's first."""
    folder = docname.rpartition("/")[0]
    for candidate in (folder, "notebooks"):
        found = sorted((srcdir / candidate).glob("*.ipynb")) if candidate else []
        if found:
            return found[0].relative_to(srcdir).as_posix()
    raise RuntimeError("no notebook found under notebooks/ for the Colab badges")


def _config_inited(app, config):
    urls = project_urls()
    config.html_theme_options["repository_url"] = urls["Repository"]
    config.html_theme_options.setdefault("repository_branch", "main")
    config.html_theme_options["use_repository_button"] = True
    config.html_baseurl = urls["Documentation"]


def _source_read(app, docname, source):
    if Path(app.env.doc2path(docname)).suffix != ".md":
        return  # notebooks carry their own badge cell
    target = colab_target(docname, Path(app.srcdir))
    url = colab_url(app.config.html_theme_options["repository_url"], target)
    source[0] = f"[![Open In Colab]({BADGE})]({url})\n\n" + source[0]


def setup(app):
    app.connect("config-inited", _config_inited)
    app.connect("source-read", _source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


# ---- the build, as `make site` and tests/test_site.py run it --------------------------------

def build_command(out: Path, root: Path = ROOT) -> list[str]:
    """Jupyter Book 1's build of the whole course, strict: any warning (a broken internal link,
    a missing image, an unknown reference: nitpicky) fails it, after reporting all of them."""
    import sys

    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return [str(jupyter_book), "build", str(root), "--config", str(root / "docs" / "_config.yml"),
            "--toc", str(root / "docs" / "_toc.yml"), "--path-output", str(out),
            "--warningiserror", "--nitpick", "--keep-going"]


def html_dir(out: Path) -> Path:
    """Where the servable site lands (Jupyter Book puts it under ``<out>/_build/html``)."""
    return Path(out) / "_build" / "html"


if __name__ == "__main__":
    import subprocess
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build" / "site").resolve()
    status = subprocess.run(build_command(out)).returncode
    if status == 0:
        print(f"\nThe site is in {html_dir(out)}/ (static files: serve that folder, or open index.html);\n"
              f"it is meant to be published at {project_urls()['Documentation']}")
    sys.exit(status)
