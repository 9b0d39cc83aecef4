"""Word lists shipped in ``udfs/quality/data/`` (see its ATTRIBUTION.md), read lazily and cached per worker.

Read through ``importlib.resources``, so they load the same from a checkout, an installed wheel or the code zip
the driver ships to executors (``addPyFile``).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

LDNOOBW_LANGUAGES = ("en", "zh", "ja", "ko")
BUNDLED_URL_BLOCKLIST = "bundled:url_blocklist.txt"
"""Stands for ``udfs/quality/data/url_blocklist.txt`` among block-list paths."""


def _data_text(name: str) -> str:
    return resources.files("udfs.quality").joinpath("data", name).read_text(encoding="utf-8")


def _lines(path: str) -> list[str]:
    if path.startswith("bundled:"):
        text = _data_text(path.removeprefix("bundled:"))
    else:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@cache
def ldnoobw(lang: str) -> tuple[str, ...]:
    """The LDNOOBW list of ``lang`` (empty for languages without one)."""
    if lang not in LDNOOBW_LANGUAGES:
        return ()
    return tuple(_lines(f"bundled:ldnoobw_{lang}.txt"))


@cache
def _bigscience(name: str) -> dict[str, tuple[str, ...]]:
    return {lang: tuple(words) for lang, words in json.loads(_data_text(f"bigscience_roots_{name}.json")).items()}


def bigscience_stopwords(lang: str) -> tuple[str, ...]:
    return _bigscience("stopwords").get(lang, ())


def bigscience_flagged_words(lang: str) -> tuple[str, ...]:
    return _bigscience("flagged_words").get(lang, ())


@cache
def url_blocklist(paths: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """``{"domain": ..., "word": ..., "substring": ...}`` merged from block-list files (``kind:value`` lines)."""
    entries: dict[str, set[str]] = {"domain": set(), "word": set(), "substring": set()}
    for path in paths:
        for line in _lines(path):
            kind, sep, value = line.partition(":")
            if not sep or kind not in entries:
                raise ValueError(f"{path}: expected domain:/word:/substring: entries, got {line!r}")
            entries[kind].add(value.strip().lower())
    return {kind: frozenset(values) for kind, values in entries.items()}
