"""Gopher repetition rules (Rae et al. 2021): repeated lines and paragraphs (by count and by characters), the
character share of the most repeated 2/3/4-gram, and of all repeated 5–10-grams (overlaps counted once).

Vectorized over the batch: n-gram hashes for all documents at once (a polynomial hash over exact word codes
that include the document, extended one word per size), repeated n-grams grouped with one hash table per size.
CJK pages use character n-grams (each Han/Kana character is a word)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from udfs.quality.text import Lines, per_doc_sum, safe_ratio

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


def _first_occurrence_mask(codes: np.ndarray) -> np.ndarray:
    """For integer group codes: True where the element is a later occurrence of its group (pure numpy)."""
    positions = np.arange(len(codes))
    first = np.empty(codes.max() + 1 if len(codes) else 0, dtype=np.int64)
    first[codes[::-1]] = positions[::-1]  # the last write wins: the earliest position of each code
    return first[codes] != positions


def tag_gopher_repetition(docs: Documents, conf: RuleFamily, rows: np.ndarray) -> dict[str, np.ndarray]:
    texts, lines, words = docs.page, docs.lines, docs.words
    n = len(texts)
    text_chars = np.fromiter(map(len, texts), dtype=np.float64, count=n)
    paragraphs = Lines.split(texts, "\n\n")
    scores: dict[str, np.ndarray] = {}
    scores["gr_dup_line_frac"], scores["gr_dup_line_char_frac"] = _repeated_elements(lines, text_chars)
    scores["gr_dup_para_frac"], scores["gr_dup_para_char_frac"] = _repeated_elements(paragraphs, text_chars)

    cumulative = np.concatenate(([0], np.cumsum(words.length)))
    total = len(words.doc)
    hashes = None
    # Start positions that can still repeat: an n-gram can only occur twice if its (n-1)-gram prefix does, so each
    # size only hashes-and-groups the survivors of the previous one (few, on ordinary text).
    candidates = np.zeros(0, dtype=np.int64)
    for size in range(1, max(DUP_NGRAMS) + 1):
        hashes = words.ngram_hashes(size, hashes)
        if size == 1:
            continue
        if size == 2:
            candidates = np.flatnonzero(words.valid_starts(2))
        else:
            candidates = candidates[candidates + size <= total]
            candidates = candidates[words.doc[candidates] == words.doc[candidates + size - 1]]
        codes, _ = pd.factorize(hashes[candidates], sort=False)
        counts = np.bincount(codes)[codes] if len(codes) else np.zeros(0, dtype=np.int64)
        doc = words.doc[candidates]
        if size in TOP_NGRAMS:
            covered = np.where(counts > 1, counts * (cumulative[candidates + size] - cumulative[candidates]), 0)
            top = np.zeros(n, dtype=np.float64)
            if len(candidates):  # candidates are in order, so each document's are one segment
                segment = np.flatnonzero(np.concatenate(([True], doc[1:] != doc[:-1])))
                top[doc[segment]] = np.maximum.reduceat(covered, segment)
            scores[f"gr_top_{size}gram_frac"] = safe_ratio(top, words.chars_per_doc)
        if size in DUP_NGRAMS:
            repeat_starts = candidates[_first_occurrence_mask(codes)] if len(codes) else candidates
            coverage = np.bincount(repeat_starts, minlength=total + 1) - np.bincount(
                repeat_starts + size, minlength=total + 1
            )
            in_repeat = np.cumsum(coverage[:-1]) > 0
            chars = per_doc_sum(words.doc[in_repeat], words.length[in_repeat], n)
            scores[f"gr_dup_{size}gram_frac"] = safe_ratio(chars, words.chars_per_doc)
        candidates = candidates[counts > 1]
    return scores
