"""The rule-by-rule oracle of the quality rules: one document at a time in plain Python (``Counter``/``set`` per
document), written from the rules' definitions rather than from the vectorized code.

``tests/test_quality_udfs.py`` checks that ``udfs.quality.rules.tag_batch`` gives the same scores and reasons;
``bench/quality_throughput.py`` times it as the row-at-a-time baseline. Not used by the pipeline. It covers the
rules of conf/quality.yaml as shipped up to the bad words; a rule added later is checked by its own literal-text
tests (``oracle_columns`` says which columns this file computes).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from udfs.quality.badwords import count_badwords
from udfs.quality.c4 import _policy_pattern, keep_line
from udfs.quality.chinese import _stopword_pattern, is_ad_line
from udfs.quality.config import QualityConfig
from udfs.quality.gopher_repetition import DUP_NGRAMS, TOP_NGRAMS
from udfs.quality.text import (
    ELLIPSIS,
    alpha_word_pattern,
    real_word_pattern,
    sentence_end_pattern,
    terminal_punct,
    word_pattern,
)
from udfs.quality.url import _blocked_host, _lists, host_of
from udfs.scripts import HAN_CHAR

_TOKEN = re.compile(r"[a-z0-9]+")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _repeated(elements: list[str]) -> tuple[int, int]:
    seen: set[str] = set()
    count = chars = 0
    for element in elements:
        if element in seen:
            count += 1
            chars += len(element)
        else:
            seen.add(element)
    return count, chars


def score_document(text: str, url: str | None, lang: str, conf: QualityConfig) -> dict[str, Any]:
    """All score columns of one document (the same keys as ``tag_batch`` columns, minus ``text``)."""
    cjk = lang in conf.cjk_languages
    chinese = lang in conf.chinese.apply_to
    scores: dict[str, Any] = {}
    domains, banned_words, substrings = _lists(conf.url)
    lowered_url = (url or "").lower()
    scores["url_blocked"] = _blocked_host(host_of(lowered_url), domains)
    scores["url_banned"] = any(s in lowered_url for s in substrings) or bool(
        banned_words & set(_TOKEN.findall(lowered_url))
    )

    scores["zh_ad_lines_removed"], scores["zh_ad_line_ratio"] = 0, float("nan")
    if chinese and conf.chinese.remove_ad_lines:
        raw_lines = text.split("\n")
        kept_lines = [line for line in raw_lines if not is_ad_line(line, conf.chinese)]
        removed = len(raw_lines) - len(kept_lines)
        non_empty = sum(1 for line in raw_lines if line.strip())
        scores["zh_ad_lines_removed"] = removed
        scores["zh_ad_line_ratio"] = _ratio(removed, non_empty)
        if removed:
            text = "\n".join(kept_lines)

    lines = [line.strip() for line in text.split("\n") if line.strip()]
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    words = word_pattern(cjk).findall(text)
    word_chars = sum(len(w) for w in words)

    # Gopher repetition
    dup_lines, dup_line_chars = _repeated(lines)
    dup_paras, dup_para_chars = _repeated(paragraphs)
    scores["gr_dup_line_frac"] = _ratio(dup_lines, len(lines))
    scores["gr_dup_line_char_frac"] = _ratio(dup_line_chars, len(text))
    scores["gr_dup_para_frac"] = _ratio(dup_paras, len(paragraphs))
    scores["gr_dup_para_char_frac"] = _ratio(dup_para_chars, len(text))
    for n in TOP_NGRAMS:
        grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
        best = max((count * sum(map(len, gram)) for gram, count in grams.items() if count > 1), default=0)
        scores[f"gr_top_{n}gram_frac"] = _ratio(best, word_chars)
    for n in DUP_NGRAMS:
        seen: set[tuple[str, ...]] = set()
        covered = [False] * len(words)
        for i in range(len(words) - n + 1):
            gram = tuple(words[i : i + n])
            if gram in seen:
                for j in range(i, i + n):
                    covered[j] = True
            else:
                seen.add(gram)
        scores[f"gr_dup_{n}gram_frac"] = _ratio(
            sum(len(w) for w, c in zip(words, covered, strict=True) if c), word_chars
        )

    # Gopher quality
    real_words = real_word_pattern(cjk).findall(text)
    n_words = len(real_words)
    scores["gq_words"] = float(n_words)
    scores["gq_mean_word_length"] = _ratio(sum(map(len, real_words)), n_words)
    symbols = text.count("#") + text.count("...") + text.count("…")
    scores["gq_symbol_ratio"] = _ratio(symbols, n_words)
    bullets = conf.gopher_quality.bullets
    scores["gq_bullet_lines_ratio"] = _ratio(sum(line.startswith(bullets) for line in lines), len(lines))
    scores["gq_ellipsis_lines_ratio"] = _ratio(sum(line.endswith(ELLIPSIS) for line in lines), len(lines))
    scores["gq_alpha_words_ratio"] = _ratio(len(alpha_word_pattern(cjk).findall(text)), len(words))
    vocabulary = conf.gopher_quality.stop_words.get(lang)
    scores["gq_stop_words"] = (
        float(len(re.findall(r"\b(?:" + "|".join(map(re.escape, vocabulary)) + r")\b", text, re.IGNORECASE)))
        if vocabulary
        else float("nan")
    )

    # FineWeb
    short = conf.fineweb.value("short_line_chars", lang) or 0
    scores["fw_line_punct_ratio"] = _ratio(sum(line.endswith(terminal_punct(cjk)) for line in lines), len(lines))
    scores["fw_short_line_ratio"] = _ratio(sum(len(line) <= short for line in lines), len(lines))
    scores["fw_char_dup_ratio"] = _ratio(dup_line_chars, len(text) - text.count("\n"))
    scores["fw_newline_word_ratio"] = _ratio(text.count("\n"), len(words))

    # C4 line removal, then document rules
    policy = _policy_pattern(conf.c4)
    floor = int(conf.c4.value("min_words_per_line", lang) or 0)
    out_lines, removed = [], 0
    for line in (raw.strip() for raw in text.split("\n")):
        if not line or keep_line(line, cjk, conf.c4, floor, policy):
            out_lines.append(line)
        else:
            removed += 1
    kept = _BLANK_RUNS.sub("\n\n", "\n".join(out_lines)).strip()
    scores["c4_lines_removed"] = removed
    scores["c4_sentences"] = float(len(sentence_end_pattern(cjk).findall(kept)))
    scores["c4_lorem_ipsum"] = "lorem ipsum" in text.lower()
    scores["c4_curly_bracket"] = "{" in text

    # Chinese
    scores["zh_chars"], scores["zh_stopword_ratio"] = float("nan"), float("nan")
    if chinese:
        scores["zh_chars"] = float(len(HAN_CHAR.findall(kept)))
        stop = _stopword_pattern("zh")
        han = len(HAN_CHAR.findall(text))
        scores["zh_stopword_ratio"] = _ratio(sum(map(len, stop.findall(text))), han) if stop else float("nan")

    # Bad words
    bad = conf.badwords
    hits = count_badwords(
        kept, lang, lang in bad.substring_languages, bad.add_bigscience_flagged, bad.allowed_contexts.get(lang, ())
    )
    scores["badwords_ratio"] = hits if math.isnan(hits) else _ratio(hits, len(word_pattern(cjk).findall(kept)))
    scores["text"] = kept
    return scores


def oracle_columns(conf: QualityConfig) -> list[str]:
    """The columns of ``tag_batch`` that :func:`score_document` computes too."""
    from udfs.quality.rules import output_columns

    computed = set(score_document("", None, "en", conf))
    return [name for name in output_columns(conf) if name in computed]
