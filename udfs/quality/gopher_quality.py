"""Gopher quality rules (Rae et al. 2021, MassiveText): word count, mean word length, symbol/word ratio, bullet
and ellipsis lines, words with a letter, stop words. CJK pages count characters as words (see ``text.py``), and
conf switches the word-length rule off for them."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from udfs.quality.text import ELLIPSIS, per_doc_sum, safe_ratio
from udfs.scripts import word_char_table

_WORD_START = re.compile(r"\w")
_CASED_LIMIT = 0x20000

if TYPE_CHECKING:
    from udfs.quality.config import GopherQualityConfig
    from udfs.quality.rules import Documents


@lru_cache(maxsize=32)
def stop_word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Whole-word, case-insensitive matches of ``words`` (``\\b(?:the|be|...)\\b``).

    When every word starts with a word character, the pattern is written as the class of first characters, then
    "no word character before it" and each word's rest behind a look-back at its first character. Same matches in
    the same order (the words keep their order), but ``re`` skips to the next candidate character in C instead of
    trying every word at every position: 1.6x faster on English pages.
    """
    if not words or not all(_WORD_START.match(word) for word in words):
        return re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
    firsts = "".join(sorted({re.escape(word[0]) for word in words}))
    rests = "|".join(f"(?<={re.escape(word[0])}){re.escape(word[1:])}" for word in words)
    return re.compile(rf"[{firsts}](?<!\w.)(?:{rests})\b", re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=32)
def _folded_words(words: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``words`` as :func:`udfs.kernels.count_whole_words` reads them: a table of the code points that match each
    distinct character ignoring case (as ``re`` matches them), and each word as those characters' bits. None when
    the loop cannot state the regex: an empty word, a character that is not a word character, more than 32 distinct
    characters, or a code point that matches one ignoring case without being a word character itself."""
    distinct = sorted({ch for word in words for ch in word})
    if not words or not all(words) or len(distinct) > 32 or not all(_WORD_START.match(ch) for ch in distinct):
        return None
    # Every cased character lies below U+20000 (the last are Adlam's, U+1E9xx): above it a character matches only
    # itself, ignoring case or not.
    cased = np.arange(_CASED_LIMIT, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    candidates = sorted(set(re.findall("(?i)[" + "".join(map(re.escape, distinct)) + "]", cased)) | set(distinct))
    fold = np.zeros(max(map(ord, candidates)) + 1, dtype=np.uint32)
    for candidate in candidates:
        if not _WORD_START.match(candidate):
            return None
        for bit, ch in enumerate(distinct):
            if re.fullmatch("(?i)" + re.escape(ch), candidate):
                fold[ord(candidate)] |= np.uint32(1 << bit)
    bits = np.array([1 << distinct.index(ch) for word in words for ch in word], dtype=np.uint32)
    offsets = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum([len(word) for word in words], out=offsets[1:])
    return fold, bits, offsets


def count_stop_words(docs: Documents, rows: list[int], words: tuple[str, ...]) -> list[int]:
    """Whole-word, case-insensitive matches of ``words`` in the pages ``rows`` (:func:`stop_word_pattern`'s count),
    in one compiled loop over the batch's code points where the loop can state the pattern."""
    folded = _folded_words(words)
    if folded is None:
        pattern = stop_word_pattern(words)
        return [len(pattern.findall(docs.page[i])) for i in rows]
    from udfs.kernels import count_whole_words

    fold, bits, offsets = folded
    batch = docs.points
    return count_whole_words(batch.points, batch.offsets, np.asarray(rows, dtype=np.int64), word_char_table(), fold,
                             bits, offsets).tolist()


def tag_gopher_quality(docs: Documents, conf: GopherQualityConfig, rows: np.ndarray) -> dict[str, np.ndarray]:
    texts, langs, lines, words, stop_words = docs.page, docs.langs, docs.lines, docs.words, conf.stop_words
    bullets = conf.bullets
    n = len(texts)
    n_words = np.bincount(words.doc[words.real], minlength=n)
    word_chars = per_doc_sum(words.doc[words.real], words.length[words.real], n)
    alpha_words = np.bincount(words.doc[words.alpha], minlength=n)
    symbols = np.fromiter((t.count("#") + t.count("...") + t.count("…") for t in texts), dtype=np.float64, count=n)
    bullet = lines.starts_with(tuple(bullets))
    ellipsis = lines.ends_with(np.zeros(len(lines.doc), dtype=bool), {False: ELLIPSIS, True: ELLIPSIS})
    stops = np.full(n, np.nan)
    for lang, vocabulary in stop_words.items():
        index = [i for i, doc_lang in enumerate(langs) if doc_lang == lang]
        if index and vocabulary:
            stops[index] = count_stop_words(docs, index, tuple(vocabulary))
    return {
        "gq_words": n_words,
        "gq_mean_word_length": safe_ratio(word_chars, n_words),
        "gq_symbol_ratio": safe_ratio(symbols, n_words),
        "gq_bullet_lines_ratio": safe_ratio(np.bincount(lines.doc[bullet], minlength=n), lines.per_doc),
        "gq_ellipsis_lines_ratio": safe_ratio(np.bincount(lines.doc[ellipsis], minlength=n), lines.per_doc),
        "gq_alpha_words_ratio": safe_ratio(alpha_words, words.per_doc),
        "gq_stop_words": stops,
    }
