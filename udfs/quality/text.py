"""Shared splitting for the quality filters: lines and words of a whole batch, flattened into numpy arrays.

Each batch is split once: every line and every word of every document goes into flat arrays with a parallel array
of document indexes, so per-document statistics are ``np.bincount`` sums and repeated elements are found with one
hash-table pass over (document, element) keys instead of a ``Counter`` per document. Lines and words are cut from
the batch's code points in compiled loops (``udfs.kernels``; no per-line or per-word Python strings). Words depend
on the language: space-separated languages split on whitespace; CJK languages (no spaces) count each Han/Kana
character as a word and each run of other non-space characters (a Latin word, a number, punctuation) as one more.
The regexes below state the same definitions one document at a time (used where a per-document scan is cheaper, and
by the tests' rule-by-rule oracle, ``tests/quality_oracle.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from udfs.scripts import CJK, cjk_table, letter_table, word_char_table

_SPACE_WORD = re.compile(r"\S+")
_CJK_WORD = re.compile(f"[{CJK}]|[^\\s{CJK}]+")
# A word with a letter or digit (punctuation-only tokens are not words for Gopher's counts and lengths).
_SPACE_REAL_WORD = re.compile(r"\S*\w\S*")
_CJK_REAL_WORD = re.compile(f"[{CJK}]|[^\\s{CJK}]*[^\\W{CJK}][^\\s{CJK}]*")
_SPACE_ALPHA_WORD = re.compile(r"\S*[^\W\d_]\S*")
_CJK_ALPHA_WORD = re.compile(f"[{CJK}]|[^\\s{CJK}]*[^\\W\\d_{CJK}][^\\s{CJK}]*")

# Line endings that close a sentence (C4 and FineWeb use . ! ? and closing quotes); CJK adds full-width marks.
TERMINAL_PUNCT = (".", "!", "?", '"', "'")
CJK_TERMINAL_PUNCT = (*TERMINAL_PUNCT, "。", "！", "？", "．", "”", "」", "』", "’")
ELLIPSIS = ("...", "…")
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")
_CJK_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|[。！？]+[”」』’）]*")

NGRAM_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the polynomial n-gram hash (wraps mod 2**64)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)
_WORD_MIX = np.uint64(0x94D049BB133111EB)
_LINE_MIX = np.uint64(0xD6E8FEB86659FD93)
_MAX_WEIGHTED = 4096
# str.isspace() (= the regex \s) for code points up to U+3000 (the last whitespace character); above: not space.
_SPACE_TABLE = np.array([chr(c).isspace() for c in range(0x3002)], dtype=bool)


def _char_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per code point: regex ``\\w`` and letter (``[^\\W\\d_]``), so word classes are array lookups, not regex
    scans (built once per worker, see :mod:`udfs.scripts`)."""
    return word_char_table(), letter_table()


def word_pattern(cjk: bool) -> re.Pattern[str]:
    return _CJK_WORD if cjk else _SPACE_WORD


def real_word_pattern(cjk: bool) -> re.Pattern[str]:
    return _CJK_REAL_WORD if cjk else _SPACE_REAL_WORD


def alpha_word_pattern(cjk: bool) -> re.Pattern[str]:
    return _CJK_ALPHA_WORD if cjk else _SPACE_ALPHA_WORD


def sentence_end_pattern(cjk: bool) -> re.Pattern[str]:
    return _CJK_SENTENCE_END if cjk else _SENTENCE_END


def terminal_punct(cjk: bool) -> tuple[str, ...]:
    return CJK_TERMINAL_PUNCT if cjk else TERMINAL_PUNCT


def count_matches(pattern: re.Pattern[str], texts: Sequence[str]) -> np.ndarray:
    """Matches of ``pattern`` in each text (one C-level ``findall`` per document)."""
    return np.fromiter((len(pattern.findall(t)) for t in texts), dtype=np.int64, count=len(texts))


def per_doc_sum(doc: np.ndarray, values: np.ndarray | None, n_docs: int) -> np.ndarray:
    return np.bincount(doc, weights=values, minlength=n_docs)


def safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` with 0 where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


@dataclass
class BatchPoints:
    """The code points of a batch of texts, concatenated (UTF-32), and where each text starts and ends."""

    points: np.ndarray
    offsets: np.ndarray
    """Text ``d`` is ``points[offsets[d]:offsets[d + 1]]``."""

    @classmethod
    def of(cls, texts: Sequence[str]) -> BatchPoints:
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), out=offsets[1:])
        points = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        return cls(points, offsets)


@lru_cache(maxsize=64)
def _affix_arrays(groups: tuple[tuple[str, ...], ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups of strings as the flat arrays :func:`udfs.kernels.pieces_with_affix` reads."""
    affixes = [affix for group in groups for affix in group]
    offsets = np.zeros(len(affixes) + 1, dtype=np.int64)
    np.cumsum([len(affix) for affix in affixes], out=offsets[1:])
    group_offsets = np.zeros(len(groups) + 1, dtype=np.int64)
    np.cumsum([len(group) for group in groups], out=group_offsets[1:])
    return BatchPoints.of(affixes).points, offsets, group_offsets


@dataclass
class Lines:
    """Non-empty stripped lines (or other pieces) of every document, flattened: where each sits in the batch's
    code points, not a Python string per line."""

    points: np.ndarray
    doc: np.ndarray
    start: np.ndarray
    end: np.ndarray
    keys: np.ndarray
    """Per line: equal for equal lines of one document, never equal across documents (a 64-bit hash)."""
    length: np.ndarray
    per_doc: np.ndarray
    _repeated: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def split(cls, batch: BatchPoints, separator: str = "\n") -> Lines:
        """The pieces ``[p.strip() for p in text.split(separator) if p.strip()]`` of every text, in one compiled
        loop (:func:`udfs.kernels.split_lines`)."""
        from udfs.kernels import split_lines

        doc, start, end, keys = split_lines(batch.points, batch.offsets, BatchPoints.of([separator]).points,
                                            _SPACE_TABLE, _LINE_MIX, _MIX2)
        per_doc = np.bincount(doc, minlength=len(batch.offsets) - 1)
        return cls(batch.points, doc, start, end, keys, end - start, per_doc)

    def repeated(self) -> np.ndarray:
        """True for lines equal to an earlier line of the same document, computed once: Gopher and FineWeb both
        rate duplicate lines. One hash-table pass (pandas ``duplicated``) over the whole batch."""
        if self._repeated is None:
            self._repeated = pd.Series(self.keys).duplicated(keep="first").to_numpy()
        return self._repeated

    def _with_affix(self, groups: tuple[tuple[str, ...], ...], group: np.ndarray, at_end: bool) -> np.ndarray:
        from udfs.kernels import pieces_with_affix

        affixes, offsets, group_offsets = _affix_arrays(groups)
        return pieces_with_affix(self.points, self.start, self.end, group, affixes, offsets, group_offsets, at_end)

    def ends_with(self, endings_per_line: np.ndarray, suffixes: dict[bool, tuple[str, ...]]) -> np.ndarray:
        """Per line: does it end with one of ``suffixes[flag]`` (flag per line, e.g. its document is CJK)."""
        group = np.asarray(endings_per_line, dtype=np.int64)
        return self._with_affix((tuple(suffixes[False]), tuple(suffixes[True])), group, at_end=True)

    def starts_with(self, prefixes: tuple[str, ...]) -> np.ndarray:
        """Per line: does it start with one of ``prefixes``."""
        return self._with_affix((tuple(prefixes),), np.zeros(len(self.doc), dtype=np.int64), at_end=False)


@dataclass
class Words:
    """Words of every document (whitespace tokens, or CJK characters + other runs), flattened."""

    doc: np.ndarray
    length: np.ndarray
    codes: np.ndarray
    per_doc: np.ndarray
    chars_per_doc: np.ndarray
    real: np.ndarray
    """Per word: has a letter or digit (``real_word_pattern``)."""
    alpha: np.ndarray
    """Per word: has a letter (``alpha_word_pattern``)."""

    @classmethod
    def split(cls, batch: BatchPoints, cjk: np.ndarray) -> Words:
        """Split the whole batch at once on its code points (no per-word Python strings).

        A word starts at a non-space character that follows a space, a document start, or (in CJK documents) a
        Han/Kana character or is one. Equal words get equal codes from a polynomial hash over their code points
        (weights ``_WORD_MIX ** offset``), mixed with the document index so that n-grams of different documents
        never compare equal. One compiled loop over the characters (:func:`udfs.kernels.split_words`).
        """
        from udfs.kernels import split_words

        points, offsets = batch.points, batch.offsets
        n_docs = len(offsets) - 1
        word_char, letter = _char_tables()
        doc, length, codes, real, alpha = split_words(
            points, offsets, np.asarray(cjk, dtype=bool), _SPACE_TABLE, cjk_table(), word_char, letter, _WORD_MIX,
            _MIX2, _MAX_WEIGHTED,
        )
        per_doc = np.bincount(doc, minlength=n_docs).astype(np.int64)
        return cls(doc, length, codes, per_doc, per_doc_sum(doc, length, n_docs), real, alpha)

    def offsets(self) -> np.ndarray:
        """Index of each document's first word (and the total at the end): document ``d`` is words
        ``offsets[d]:offsets[d + 1]``."""
        offsets = np.zeros(len(self.per_doc) + 1, dtype=np.int64)
        np.cumsum(self.per_doc, out=offsets[1:])
        return offsets
