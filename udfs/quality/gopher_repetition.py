"""Gopher repetition rules (Rae et al. 2021): repeated lines and paragraphs (by count and by characters), the
character share of the most repeated 2/3/4-gram, and of all repeated 5–10-grams (overlaps counted once).

N-grams compare by a polynomial hash over exact word codes that include the document, extended one word per
size; one compiled loop per document groups the repeated ones (:func:`udfs.kernels.ngram_repetition`). CJK pages
use character n-grams (each Han/Kana character is a word)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from udfs.quality.text import NGRAM_MIX, Lines, per_doc_sum, safe_ratio

if TYPE_CHECKING:
    from udfs.quality.config import RuleFamily
    from udfs.quality.rules import Documents

TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)


def _repeated_elements(elements: Lines, text_chars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(text_chars)
    repeated = elements.repeated()
    count = np.bincount(elements.doc[repeated], minlength=n)
    chars = per_doc_sum(elements.doc[repeated], elements.length[repeated], n)
    return safe_ratio(count, elements.per_doc), safe_ratio(chars, text_chars)


def tag_gopher_repetition(docs: Documents, conf: RuleFamily, rows: np.ndarray) -> dict[str, np.ndarray]:
    from udfs.kernels import ngram_repetition

    texts, lines, words = docs.page, docs.lines, docs.words
    n = len(texts)
    text_chars = np.fromiter(map(len, texts), dtype=np.float64, count=n)
    paragraphs = Lines.split(docs.points, "\n\n")
    scores: dict[str, np.ndarray] = {}
    scores["gr_dup_line_frac"], scores["gr_dup_line_char_frac"] = _repeated_elements(lines, text_chars)
    scores["gr_dup_para_frac"], scores["gr_dup_para_char_frac"] = _repeated_elements(paragraphs, text_chars)

    offsets = words.offsets()
    top, dup = ngram_repetition(offsets, words.length, words.codes, NGRAM_MIX, len(TOP_NGRAMS), max(DUP_NGRAMS))
    for size in TOP_NGRAMS:
        scores[f"gr_top_{size}gram_frac"] = safe_ratio(top[size - 2], words.chars_per_doc)
    for size in DUP_NGRAMS:
        scores[f"gr_dup_{size}gram_frac"] = safe_ratio(dup[size - 2], words.chars_per_doc)
    return scores
