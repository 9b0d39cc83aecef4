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
from itertools import accumulate, compress
from typing import TYPE_CHECKING

import numpy as np

from udfs.quality.text import (
    CJK_TERMINAL_PUNCT,
    ELLIPSIS,
    TERMINAL_PUNCT,
    count_matches,
    real_word_pattern,
    sentence_end_pattern,
)

if TYPE_CHECKING:
    from udfs.quality.config import C4Config
    from udfs.quality.rules import Documents

_BLANK_RUNS = re.compile(r"\n{3,}")


def _policy_pattern(conf: C4Config) -> re.Pattern[str] | None:
    # A line holds no line break, so a substring with one never matches: left out, a match never spans lines.
    parts = [re.escape(s.lower()) for s in conf.policy_substrings if "\n" not in s]
    if conf.remove_javascript_lines:
        parts.append("javascript")
    return re.compile("|".join(parts)) if parts else None


def _line_words(line: str, cjk: bool) -> int:
    return len(real_word_pattern(True).findall(line)) if cjk else len(line.split())


def _has_words(line: str, cjk: bool, floor: int) -> bool:
    """``_line_words(line, cjk) >= floor`` for a stripped, non-empty line and ``floor >= 1``. A space-separated line
    is split only up to its ``floor``-th word (``split`` with ``maxsplit``: min(words, floor) pieces), not into every
    word."""
    if cjk:
        return _line_words(line, True) >= floor
    return len(line.split(None, floor - 1)) >= floor


def keep_line(line: str, cjk: bool, conf: C4Config, min_words: int, policy: re.Pattern[str] | None) -> bool:
    """Whether C4 keeps one (stripped, non-empty) line; the row-at-a-time form of :func:`filter_lines`."""
    if conf.remove_no_terminal_punct and (
        not line.endswith(CJK_TERMINAL_PUNCT if cjk else TERMINAL_PUNCT) or line.endswith(ELLIPSIS)
    ):
        return False
    if policy is not None and policy.search(line.lower()):
        return False
    return _line_words(line, cjk) >= min_words


def filter_lines(
    texts: Sequence[str], cjk: np.ndarray, min_words: np.ndarray, conf: C4Config
) -> tuple[list[str], np.ndarray]:
    """(texts with C4's bad lines removed, lines removed per text). Blank lines are kept (paragraph breaks)."""
    policy = _policy_pattern(conf)
    terminal = {False: TERMINAL_PUNCT, True: CJK_TERMINAL_PUNCT}
    out: list[str] = []
    removed = np.zeros(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        lines = [line.strip() for line in text.split("\n")]
        is_cjk, floor = bool(cjk[i]), int(min_words[i])
        ends = terminal[is_cjk]
        # Empty lines are always kept, so a False below is always a removed (non-empty) line.
        if not conf.remove_no_terminal_punct:
            keep = [True] * len(lines)
        else:
            keep = [not line or (line.endswith(ends) and not line.endswith(ELLIPSIS)) for line in lines]
        if policy is not None:
            lowered = "\n".join(lines).lower()
            hits = [match.start() for match in policy.finditer(lowered)]
            if hits:  # rare: only then find which lines
                # A match never spans a line break, so the lines holding a match are those of the matches' starts:
                # one scan of the page, not one search per line. Offsets are the lower-cased text's own
                # (lower-casing may lengthen a line, never add a line break).
                line_ends = list(accumulate(len(line) + 1 for line in lowered.split("\n")))
                for start in hits:
                    keep[bisect_right(line_ends, start)] = False
        if floor > 0:
            for j, line in enumerate(lines):
                if keep[j] and line and not _has_words(line, is_cjk, floor):
                    keep[j] = False
        n_removed = keep.count(False)
        removed[i] = n_removed
        kept = "\n".join(compress(lines, keep)) if n_removed else "\n".join(lines)
        out.append((_BLANK_RUNS.sub("\n\n", kept) if "\n\n\n" in kept else kept).strip())
    return out, removed


def tag_c4(docs: Documents, conf: C4Config, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Document scores: sentences left after line removal; "lorem ipsum" / "{" in the page as it came."""
    original, cleaned, cjk = docs.page, docs.kept, docs.cjk
    sentences = np.zeros(len(cleaned), dtype=np.float64)
    for flag in (False, True):
        index = np.flatnonzero(cjk == flag)
        if len(index):
            sentences[index] = count_matches(sentence_end_pattern(flag), [cleaned[i] for i in index])
    lorem = np.fromiter(("lorem ipsum" in t.lower() for t in original), dtype=bool, count=len(original))
    curly = np.fromiter(("{" in t for t in original), dtype=bool, count=len(original))
    return {"c4_sentences": sentences, "c4_lorem_ipsum": lorem, "c4_curly_bracket": curly}
