"""The language of the exercise checks' words: English by default, Chinese in the Chinese edition.

    from scattn.i18n import t
    raise Mistake(t("with kernel_size={k} the output differs from ...", k=k))

A template is the English sentence itself, a ``str.format`` string with named
placeholders (literal braces doubled). :func:`t` looks it up in the catalogue of the
current language (``scattn/locale/<language>.json``: English template -> translated
template with the same placeholders) and formats it; English needs no catalogue.
Values put into a template (numbers, shapes, names from the learner's code) and
messages of Python or torch stay as they are: only our words are translated.

The language is ``$SCATTN_LANG`` when that names one of :data:`LANGUAGES`, else
English, until :func:`set_language` (or ``scattn.setup(language=...)``, which the
Chinese notebooks call) chooses one. ``tests/test_i18n.py`` holds the catalogue and
the code to each other: every template translated, no entry left over, the same
placeholders on both sides.
"""

from __future__ import annotations

import functools
import json
import os
from importlib import resources

from .arguments import choice

LANGUAGES = ("en", "zh")

_chosen: str | None = None  # set by set_language; None: $SCATTN_LANG or English


def language() -> str:
    """The current language: the one set last, else ``$SCATTN_LANG`` if valid, else "en"."""
    if _chosen is not None:
        return _chosen
    from_environment = os.environ.get("SCATTN_LANG", "")
    return from_environment if from_environment in LANGUAGES else "en"


def set_language(lang: str) -> str:
    """Choose the language of the checks' output, one of :data:`LANGUAGES`; returns it."""
    global _chosen
    _chosen = choice("language", lang, LANGUAGES)
    return _chosen


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """English template -> template in ``lang``, read once from the package's data; {} for English."""
    if lang == "en":
        return {}
    text = (resources.files("scattn") / "locale" / f"{lang}.json").read_text(encoding="utf-8")
    return json.loads(text)


def t(template: str, **values) -> str:
    """``template`` in the current language, formatted with ``values``; English where no translation exists."""
    translated = catalogue(language()).get(template, template)
    return translated.format(**values)


__all__ = ["LANGUAGES", "catalogue", "language", "set_language", "t"]
