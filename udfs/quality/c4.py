"""C4 (Raffel et al. 2020): line-level clean-up, then document rules on what is left.

Lines are removed when they do not end in terminal punctuation (Chinese/Japanese marks count for CJK pages), have
too few words (characters for CJK), mention javascript, or are cookie/terms/privacy boilerplate. The document is
then dropped for "lorem ipsum", a curly bracket (code), or too few sentences left. Bad words are their own filter
(``badwords.py``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, pairwise
from typing import TYPE_CHECKING

import numpy as np

from udfs.quality.text import (
    _SPACE_TABLE,
    CJK_TERMINAL_PUNCT,
    ELLIPSIS,
    TERMINAL_PUNCT,
    BatchPoints,
    _affix_arrays,
    _char_tables,
    count_matches,
    real_word_pattern,
    sentence_end_pattern,
)
from udfs.scripts import cjk_table

if TYPE_CHECKING:
    from udfs.quality.config import C4Config
    from udfs.quality.rules import Documents


def _policy_pattern(conf: C4Config) -> re.Pattern[str] | None:
    literals = _policy_literals(conf)
    return re.compile("|".join(map(re.escape, literals))) if literals else None


def _line_words(line: str, cjk: bool) -> int:
    return len(real_word_pattern(True).findall(line)) if cjk else len(line.split())


def keep_line(line: str, cjk: bool, conf: C4Config, min_words: int, policy: re.Pattern[str] | None) -> bool:
    """Whether C4 keeps one (stripped, non-empty) line; the row-at-a-time form of :func:`filter_lines`."""
    if conf.remove_no_terminal_punct and (
        not line.endswith(CJK_TERMINAL_PUNCT if cjk else TERMINAL_PUNCT) or line.endswith(ELLIPSIS)
    ):
        return False
    if policy is not None and policy.search(line.lower()):
        return False
    return _line_words(line, cjk) >= min_words


def _policy_literals(conf: C4Config) -> tuple[str, ...]:
    """The lower-cased substrings that mark a line as boilerplate (``_policy_pattern``'s alternatives)."""
    # A line holds no line break, so a substring with one never matches: left out, a match never spans lines.
    literals = [s.lower() for s in conf.policy_substrings if "\n" not in s]
    return (*literals, "javascript") if conf.remove_javascript_lines else tuple(literals)


@lru_cache(maxsize=16)
def _literal_arrays(literals: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The literals as flat code points + offsets, and a table of the code points a literal starts with."""
    points, offsets, _ = _affix_arrays((literals,))
    first_char = np.zeros(max((ord(s[0]) for s in literals if s), default=0) + 1, dtype=bool)
    first_char[[ord(s[0]) for s in literals if s]] = True
    return points, offsets, first_char


def _policy_lines(texts: Sequence[str], rows: Sequence[int], policy: re.Pattern[str]) -> tuple[np.ndarray, np.ndarray]:
    """(document, line) of each line of the documents ``rows`` that holds a match of ``policy`` (lower-cased,
    stripped lines; in order)."""
    docs: list[int] = []
    lines: list[int] = []
    for i in rows:
        lowered = "\n".join(line.strip() for line in texts[i].split("\n")).lower()
        hits = [match.start() for match in policy.finditer(lowered)]
        if hits:
            # A match never spans a line break, so the lines holding a match are those of the matches' starts.
            # Offsets are the lower-cased text's own (lower-casing may lengthen a line, never add a line break).
            line_ends = list(accumulate(len(line) + 1 for line in lowered.split("\n")))
            marked = sorted({bisect_right(line_ends, start) for start in hits})
            docs += [i] * len(marked)
            lines += marked
    return np.array(docs, dtype=np.int64), np.array(lines, dtype=np.int64)


@dataclass
class KeptLines:
    """What C4's line clean-up leaves of each text, and what the document rules count on it."""

    texts: list[str]
    removed: np.ndarray
    """Lines removed per text."""
    words: np.ndarray
    """Words per kept text (matches of ``word_pattern``: what :class:`udfs.quality.text.Words` splits)."""
    sentences: np.ndarray
    """Matches of ``sentence_end_pattern`` per kept text."""


def filter_lines(
    texts: Sequence[str], cjk: np.ndarray, min_words: np.ndarray, conf: C4Config, batch: BatchPoints | None = None
) -> tuple[list[str], np.ndarray]:
    """(texts with C4's bad lines removed, lines removed per text). Blank lines are kept (paragraph breaks)."""
    kept = keep_lines(texts, cjk, min_words, conf, batch)
    return kept.texts, kept.removed


def keep_lines(
    texts: Sequence[str], cjk: np.ndarray, min_words: np.ndarray, conf: C4Config, batch: BatchPoints | None = None,
    lowered: str | None = None,
) -> KeptLines:
    """:func:`filter_lines` with the kept texts' word and sentence counts.

    One compiled loop over the batch's code points (:func:`udfs.kernels.c4_filter_lines`), which also writes the
    kept text. Policy substrings are looked for in the lower-cased batch, position for position; a text that
    lower-casing lengthens (rare: "İ" becomes two characters) has its policy lines found with ``re`` instead.
    ``batch``: the texts' code points when the caller has them.
    """
    from udfs.kernels import c4_filter_lines

    batch = batch or BatchPoints.of(texts)
    literals = _policy_literals(conf)
    literal_points, literal_offsets, first_char = _literal_arrays(literals)
    lowered_ok = np.ones(len(texts), dtype=bool)
    lowered_points = batch.points
    policy_doc = policy_line = np.zeros(0, dtype=np.int64)
    if literals:
        lowered_points = BatchPoints.of(["".join([t.lower() for t in texts]) if lowered is None else lowered]).points
        if len(lowered_points) != len(batch.points):
            lowered_texts = [text.lower() for text in texts]
            lowered_ok = np.fromiter((len(a) == len(b) for a, b in zip(texts, lowered_texts, strict=True)),
                                     dtype=bool, count=len(texts))
            # A lengthened text's positions are filled with spaces: its lines are found below instead.
            lowered_points = BatchPoints.of([low if ok else " " * len(text) for text, low, ok in zip(
                texts, lowered_texts, lowered_ok.tolist(), strict=True)]).points
            policy_doc, policy_line = _policy_lines(texts, np.flatnonzero(~lowered_ok).tolist(),
                                                    _policy_pattern(conf))
    terminal, terminal_offsets, terminal_groups = _affix_arrays((TERMINAL_PUNCT, CJK_TERMINAL_PUNCT))
    ellipsis, ellipsis_offsets, _ = _affix_arrays((ELLIPSIS,))
    word_char, _ = _char_tables()
    points, offsets, removed, words, sentences = c4_filter_lines(
        batch.points, batch.offsets, np.asarray(cjk, dtype=bool), np.asarray(min_words, dtype=np.int64),
        conf.remove_no_terminal_punct, terminal, terminal_offsets, terminal_groups, ellipsis, ellipsis_offsets,
        lowered_points, lowered_ok, literal_points, literal_offsets, first_char, policy_doc, policy_line, _SPACE_TABLE,
        cjk_table(), word_char,
    )
    data = points.tobytes()
    kept = [data[4 * a : 4 * b].decode("utf-32-le", "surrogatepass") for a, b in pairwise(offsets.tolist())]
    return KeptLines(kept, removed, words, sentences)


def tag_c4(docs: Documents, conf: C4Config, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Document scores: sentences left after line removal; "lorem ipsum" / "{" in the page as it came."""
    original, cleaned, cjk = docs.page, docs.kept, docs.cjk
    sentences = docs.kept_sentences
    if sentences is None:
        sentences = np.zeros(len(cleaned), dtype=np.float64)
        for flag in (False, True):
            index = np.flatnonzero(cjk == flag)
            if len(index):
                sentences[index] = count_matches(sentence_end_pattern(flag), [cleaned[i] for i in index])
    # Most batches hold no "lorem ipsum" at all: one scan of the whole lower-cased batch says so.
    if "lorem ipsum" in docs.lowered_page:
        lorem = np.fromiter(("lorem ipsum" in t.lower() for t in original), dtype=bool, count=len(original))
    else:
        lorem = np.zeros(len(original), dtype=bool)
    curly = np.fromiter(("{" in t for t in original), dtype=bool, count=len(original))
    sentences = np.asarray(sentences, dtype=np.float64)
    return {"c4_sentences": sentences, "c4_lorem_ipsum": lorem, "c4_curly_bracket": curly}
