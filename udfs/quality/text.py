"""Shared splitting for the quality filters: lines and words of a whole batch, flattened into numpy arrays.

Each batch is split once: every line and every word of every document goes into flat arrays with a parallel array
of document indexes, so per-document statistics are ``np.bincount`` sums and repeated elements are found with one
hash-table pass over (document, element) keys instead of a ``Counter`` per document. Words are cut from the batch's
code points with numpy (no per-word Python strings). Words depend on the language: space-separated languages split
on whitespace; CJK languages (no spaces) count each Han/Kana character as a word and each run of other non-space
characters (a Latin word, a number, punctuation) as one more. The regexes below state the same definitions one
document at a time (used where a per-document scan is cheaper, and by the tests' rule-by-rule oracle,
``tests/quality_oracle.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain

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


def _codes(values: list[str]) -> np.ndarray:
    """Equal strings → equal integer codes (exact, no hashing)."""
    if not values:
        return np.zeros(0, dtype=np.uint64)
    codes, _ = pd.factorize(np.asarray(values, dtype=object), sort=False)
    return codes.astype(np.uint64)


def _doc_keys(doc: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """One uint64 key per (document, element) pair (a hash mix; collisions are ~2**-64 per pair)."""
    return keys.astype(np.uint64) * _MIX2 + doc.astype(np.uint64)


def repeated_mask(doc: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """True for elements equal to an earlier element of the same document (the first occurrence is not repeated).
    One hash-table pass (pandas ``duplicated``) over the whole batch."""
    if len(keys) == 0:
        return np.zeros(0, dtype=bool)
    return pd.Series(_doc_keys(doc, keys)).duplicated(keep="first").to_numpy()


def count_words(texts: Sequence[str], cjk: np.ndarray) -> np.ndarray:
    """Words per text, as :class:`Words` splits them, without building the word arrays."""
    return np.fromiter(
        (len(_CJK_WORD.findall(t)) if is_cjk else len(t.split()) for t, is_cjk in zip(texts, cjk, strict=True)),
        dtype=np.int64,
        count=len(texts),
    )


@dataclass
class Lines:
    """Non-empty stripped lines of every document, flattened."""

    text: list[str]
    doc: np.ndarray
    length: np.ndarray
    per_doc: np.ndarray
    _repeated: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def split(cls, texts: Sequence[str], separator: str = "\n") -> Lines:
        pieces = [t.split(separator) for t in texts]
        counts = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        flat = [p.strip() for p in chain.from_iterable(pieces)]
        doc = np.repeat(np.arange(len(texts)), counts)
        length = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat))
        keep = length > 0
        kept = list(np.asarray(flat, dtype=object)[keep]) if len(flat) else []
        return cls(kept, doc[keep], length[keep], np.bincount(doc[keep], minlength=len(texts)))

    def keys(self) -> np.ndarray:
        return _codes(self.text)

    def repeated(self) -> np.ndarray:
        """:func:`repeated_mask` of the lines, computed once: Gopher and FineWeb both rate duplicate lines."""
        if self._repeated is None:
            self._repeated = repeated_mask(self.doc, self.keys())
        return self._repeated

    def ends_with(self, endings_per_line: np.ndarray, suffixes: dict[bool, tuple[str, ...]]) -> np.ndarray:
        """Per line: does it end with one of ``suffixes[flag]`` (flag per line, e.g. its document is CJK)."""
        by_flag = [suffixes[False], suffixes[True]]
        return np.fromiter(
            (line.endswith(by_flag[flag]) for line, flag in zip(self.text, endings_per_line.tolist(), strict=True)),
            dtype=bool,
            count=len(self.text),
        )


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
    def split(cls, texts: Sequence[str], cjk: np.ndarray) -> Words:
        """Split the whole batch at once on its code points (no per-word Python strings).

        The batch is one UTF-32 array; a word starts at a non-space character that follows a space, a document
        start, or (in CJK documents) a Han/Kana character or is one. Equal words get equal codes from a
        polynomial hash over their code points (weights ``_WORD_MIX ** offset``), mixed with the document index
        so that n-grams of different documents never compare equal. One compiled loop over the characters
        (:func:`udfs.kernels.split_words`).
        """
        from udfs.kernels import split_words

        n_docs = len(texts)
        offsets = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=n_docs), out=offsets[1:])
        points = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
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
