"""Bad words per language (LDNOOBW, the list C4 used): whole words for space-separated languages, substrings for
Chinese/Japanese. ``badwords_ratio`` = hits per word (characters for CJK); languages without a list get NaN.

Single-character Chinese/Japanese entries and entries without a CJK character are not used as substrings: they
sit inside ordinary words (性 in 女性, 奶 in 牛奶, "13." in "2013.") and would drop a large share of clean pages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from udfs.quality.lists import bigscience_flagged_words, ldnoobw
from udfs.quality.text import safe_ratio
from udfs.scripts import CJK

if TYPE_CHECKING:
    from udfs.quality.config import BadWordsConfig
    from udfs.quality.rules import Documents

_HAS_CJK = re.compile(f"[{CJK}]")


_WORD = re.compile(r"\w+")


def _entries(lang: str, add_flagged: bool) -> set[str]:
    words = set(ldnoobw(lang)) | (set(bigscience_flagged_words(lang)) if add_flagged else set())
    return {w.strip().lower() for w in words if w.strip()}


@lru_cache(maxsize=64)
def badword_pattern(lang: str, substring: bool, add_flagged: bool) -> re.Pattern[str] | None:
    """One regex of all entries (whole words, or substrings for CJK) — used as is for CJK languages."""
    words = _entries(lang, add_flagged)
    if substring:
        words = {w for w in words if len(w) >= 2 and _HAS_CJK.search(w)}
    if not words:
        return None
    alternation = "|".join(map(re.escape, sorted(words, key=len, reverse=True)))
    if substring:
        # A look-ahead on the possible first characters lets the engine skip most positions at once.
        first = "".join(sorted({re.escape(w[0]) for w in words}))
        return re.compile(f"(?=[{first}])(?:{alternation})", re.IGNORECASE)
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=64)
def _word_lists(
    lang: str, add_flagged: bool
) -> tuple[frozenset[str], tuple[tuple[frozenset[str], re.Pattern[str]], ...]]:
    """(single-word entries, [(words of a phrase, its regex)]) for whole-word matching."""
    single, phrases = set(), []
    for entry in _entries(lang, add_flagged):
        tokens = _WORD.findall(entry)
        if len(tokens) == 1 and tokens[0] == entry:
            single.add(entry)
        elif tokens:
            phrases.append((frozenset(tokens), re.compile(rf"(?<!\w){re.escape(entry)}(?!\w)")))
    return frozenset(single), tuple(phrases)


@lru_cache(maxsize=64)
def _allowed_pattern(contexts: tuple[str, ...]) -> re.Pattern[str] | None:
    if not contexts:
        return None
    return re.compile("|".join(map(re.escape, sorted(contexts, key=len, reverse=True))), re.IGNORECASE)


def count_badwords(text: str, lang: str, substring: bool, add_flagged: bool, allowed: tuple[str, ...] = ()) -> float:
    """Bad-word hits in one text (NaN when the language has no list). Whole words are looked up in a set; a
    phrase's regex runs only when all its words occur in the text. Substrings inside an ``allowed`` context
    (ordinary words holding an entry: 妈的 in 妈妈的) are not hits."""
    if substring:
        pattern = badword_pattern(lang, True, add_flagged)
        if pattern is None:
            return float("nan")
        allowed_pattern = _allowed_pattern(allowed)
        if allowed_pattern is not None:
            text = allowed_pattern.sub("\0", text)
        return float(len(pattern.findall(text)))
    single, phrases = _word_lists(lang, add_flagged)
    if not single and not phrases:
        return float("nan")
    lowered = text.lower()
    tokens = _WORD.findall(lowered)
    present = set(tokens)
    # Most pages hold no entry at all: one set intersection rules that out before counting the tokens.
    hits = sum(map(single.__contains__, tokens)) if not single.isdisjoint(present) else 0
    for words, pattern in phrases:
        if words <= present:
            hits += len(pattern.findall(lowered))
    return float(hits)


def tag_badwords(docs: Documents, conf: BadWordsConfig, rows: np.ndarray) -> dict[str, np.ndarray]:
    """``badwords_ratio`` of the kept text: hits per word (per character for CJK); NaN without a list."""
    return badword_ratios(
        docs.kept, docs.langs, docs.kept_words, conf.substring_languages, conf.add_bigscience_flagged,
        conf.allowed_contexts,
    )


def badword_ratios(
    texts: Sequence[str],
    langs: Sequence[str],
    words_per_doc: np.ndarray,
    substring_languages: tuple[str, ...],
    add_flagged: bool,
    allowed_contexts: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, np.ndarray]:
    allowed = allowed_contexts or {}
    hits = np.fromiter(
        (
            count_badwords(t, lang, lang in substring_languages, add_flagged, allowed.get(lang, ()))
            for t, lang in zip(texts, langs, strict=True)
        ),
        dtype=np.float64,
        count=len(texts),
    )
    return {"badwords_ratio": np.where(np.isnan(hits), np.nan, safe_ratio(np.nan_to_num(hits), words_per_doc))}
