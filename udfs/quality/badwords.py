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
from udfs.scripts import CJK, word_char_table

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


def _token_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    from udfs.kernels import token_hashes
    from udfs.quality.text import BatchPoints

    batch = BatchPoints.of(texts)
    return token_hashes(batch.points, batch.offsets, word_char_table())


@lru_cache(maxsize=16)
def _list_tables(langs: tuple[str, ...], add_flagged: bool) -> tuple[np.ndarray, ...]:
    """The whole-word lists of ``langs`` as :func:`udfs.kernels.count_listed_tokens` reads them: per list, a hash
    table of its single-word entries and of its phrases' words (numbered), and each phrase as its words' numbers
    (phrases in the order of :func:`_phrase_patterns`)."""
    from udfs.kernels import _slot

    keys: list[np.ndarray] = []
    values: list[np.ndarray] = []
    vocabulary_sizes: list[int] = []
    phrase_words: list[np.ndarray] = []
    phrases_per_list: list[int] = []
    for lang in langs:
        single, phrases = _word_lists(lang, add_flagged)
        # Each entry and each phrase word is one token: one hash each, in order.
        codes = dict.fromkeys(_token_hashes(sorted(single))[0].tolist(), 1)
        numbers: dict[int, int] = {}
        first = sum(vocabulary_sizes)
        for key in _token_hashes(sorted({w for words, _ in phrases for w in words}))[0].tolist():
            numbers[key] = first + len(numbers)
            codes[key] = codes.get(key, 0) | (numbers[key] + 1) << 1
        phrase_words += [np.array(sorted(numbers[int(k)] for k in set(_token_hashes(sorted(words))[0].tolist())),
                                  dtype=np.int64) for words, _ in phrases]
        size = 1
        while size < 2 * max(len(codes), 1):
            size *= 2
        table_keys = np.zeros(size, dtype=np.uint64)
        table_values = np.zeros(size, dtype=np.int64)
        for key, code in codes.items():
            slot = _slot(np.uint64(key), size - 1)
            while table_values[slot] != 0:
                slot = (slot + 1) & (size - 1)
            table_keys[slot], table_values[slot] = key, code
        keys.append(table_keys)
        values.append(table_values)
        vocabulary_sizes.append(len(numbers))
        phrases_per_list.append(len(phrases))

    def offsets(lengths: list[int]) -> np.ndarray:
        out = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=out[1:])
        return out

    flat_words = np.concatenate(phrase_words) if phrase_words else np.zeros(0, dtype=np.int64)
    return (np.concatenate(keys), np.concatenate(values), offsets([len(k) for k in keys]), offsets(vocabulary_sizes),
            flat_words, offsets([len(w) for w in phrase_words]), offsets(phrases_per_list))


def _phrase_patterns(langs: tuple[str, ...], add_flagged: bool) -> list[re.Pattern[str]]:
    return [pattern for lang in langs for _, pattern in _word_lists(lang, add_flagged)[1]]


def badword_ratios(
    texts: Sequence[str],
    langs: Sequence[str],
    words_per_doc: np.ndarray,
    substring_languages: tuple[str, ...],
    add_flagged: bool,
    allowed_contexts: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, np.ndarray]:
    """:func:`count_badwords` per text, divided by its words. Whole-word lists are counted in a compiled loop over
    the lower-cased texts' tokens (hashes looked up in each list's sorted hashes), which also says which phrases
    have all their words in a text: only those phrases' regexes run. Substring languages go through
    :func:`count_badwords`."""
    from udfs.kernels import count_listed_tokens

    allowed = allowed_contexts or {}
    hits = np.full(len(texts), np.nan)
    whole_words = {lang for lang in langs if lang not in substring_languages}
    listed = sorted(lang for lang in whole_words if any(_word_lists(lang, add_flagged)))  # NaN: no list
    number_of = {lang: number for number, lang in enumerate(listed)}
    by_list = [i for i, lang in enumerate(langs) if lang in number_of]
    rest = [i for i, lang in enumerate(langs) if lang in substring_languages]
    if by_list:
        lowered = [texts[i].lower() for i in by_list]
        tokens, token_offsets = _token_hashes(lowered)
        numbers = np.array([number_of[langs[i]] for i in by_list], dtype=np.int64)
        counted, candidates = count_listed_tokens(tokens, token_offsets, numbers,
                                                  *_list_tables(tuple(listed), add_flagged))
        # A phrase whose words all occur: its regex counts its matches in that text (as count_badwords does).
        patterns = _phrase_patterns(tuple(listed), add_flagged)
        for k, phrase in zip(*np.nonzero(candidates), strict=True):
            counted[k] += len(patterns[phrase].findall(lowered[k]))
        hits[by_list] = counted
    for i in rest:
        hits[i] = count_badwords(texts[i], langs[i], langs[i] in substring_languages, add_flagged,
                                 allowed.get(langs[i], ()))
    return {"badwords_ratio": np.where(np.isnan(hits), np.nan, safe_ratio(np.nan_to_num(hits), words_per_doc))}
