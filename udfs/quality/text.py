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

_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the polynomial n-gram hash (wraps mod 2**64)
_MIX2 = np.uint64(0xBF58476D1CE4E5B9)
_WORD_MIX = np.uint64(0x94D049BB133111EB)
_MAX_WEIGHTED = 4096
# str.isspace() (= the regex \s) for code points up to U+3000 (the last whitespace character); above: not space.
_SPACE_TABLE = np.array([chr(c).isspace() for c in range(0x3002)], dtype=bool)


def _char_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per code point: regex ``\\w`` and letter (``[^\\W\\d_]``), so word classes are array lookups, not regex
    scans (built once per worker, see :mod:`udfs.scripts`)."""
    return word_char_table(), letter_table()


def _is_cjk_point(points: np.ndarray) -> np.ndarray:
    """Han or Kana code points (the ``CJK`` character class, one table lookup: udfs.scripts)."""
    return cjk_table()[points]


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
        so that n-grams of different documents never compare equal.
        """
        n_docs = len(texts)
        chars_in_doc = np.fromiter(map(len, texts), dtype=np.int64, count=n_docs)
        points = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        if not len(points) or bool(_SPACE_TABLE[np.minimum(points, len(_SPACE_TABLE) - 1)].all()):
            empty, none = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
            zeros = np.zeros(n_docs, np.int64)
            return cls(empty, empty, np.zeros(0, dtype=np.uint64), zeros, np.zeros(n_docs), none, none)
        char_doc = np.repeat(np.arange(n_docs, dtype=np.int32), chars_in_doc)
        space = _SPACE_TABLE[np.minimum(points, len(_SPACE_TABLE) - 1)]
        own_word = _is_cjk_point(points) & np.asarray(cjk, dtype=bool)[char_doc]
        boundary = np.ones(len(points), dtype=bool)  # a word may start here (if the character is not a space)
        boundary[1:] = space[:-1] | own_word[:-1] | own_word[1:] | (char_doc[1:] != char_doc[:-1])
        solid = ~space
        starts = np.flatnonzero(solid & boundary)
        word_of_char = np.cumsum(solid & boundary)[solid] - 1
        solid_index = np.flatnonzero(solid)
        offset = solid_index - starts[word_of_char]
        # Weights W**offset from a table; characters past _MAX_WEIGHTED of a (rare, huge) word share the last weight.
        offset_capped = np.minimum(offset, _MAX_WEIGHTED)
        powers = np.cumprod(
            np.concatenate(([np.uint64(1)], np.full(int(offset_capped.max()), _WORD_MIX, dtype=np.uint64)))
        )
        weighted = (points[solid].astype(np.uint64) + np.uint64(1)) * powers[offset_capped]
        first_solid = np.flatnonzero(offset == 0)
        hashes = np.add.reduceat(weighted, first_solid) if len(starts) else np.zeros(0, dtype=np.uint64)
        length = np.bincount(word_of_char, minlength=len(starts)).astype(np.int64)
        doc = char_doc[starts]
        codes = hashes ^ (doc.astype(np.uint64) * _MIX2)
        per_doc = np.bincount(doc, minlength=n_docs).astype(np.int64)
        word_char, letter = _char_tables()
        solid_points = points[solid]
        own = own_word[starts]  # a Han/Kana character in a CJK document is a word whatever its category
        real = np.logical_or.reduceat(word_char[solid_points], first_solid) | own
        alpha = np.logical_or.reduceat(letter[solid_points], first_solid) | own
        return cls(doc, length, codes, per_doc, per_doc_sum(doc, length, n_docs), real, alpha)

    def ngram_hashes(self, n: int, previous: np.ndarray | None) -> np.ndarray:
        """Hash of the n-gram starting at each position (positions too close to the end are garbage; mask them
        with :meth:`valid_starts`). ``previous`` is the (n-1)-gram hash array, so all sizes cost one pass each."""
        size = len(self.codes) - n + 1
        if size <= 0:
            return np.zeros(0, dtype=np.uint64)
        if previous is None:
            return self.codes[:size] * _MIX + np.uint64(1)
        return previous[:size] * _MIX + self.codes[n - 1 :]

    def valid_starts(self, n: int) -> np.ndarray:
        size = len(self.codes) - n + 1
        if size <= 0:
            return np.zeros(0, dtype=bool)
        return self.doc[:size] == self.doc[n - 1 :]
