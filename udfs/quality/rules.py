"""The quality stage over a batch: tag every score column once, then apply conf thresholds (tag-then-filter).

``tag_batch`` returns the rewritten text (Chinese ad lines and C4's bad lines removed, with the counts) and one
score column per rule; ``RULES`` says which column each ``filter:rule`` reason compares with which conf threshold.
The Spark stage turns ``RULES`` into column expressions; ``reasons`` is the same decision in pandas (tests, bench).

Which text each score sees: the structure rules (Gopher, FineWeb) judge the page as it came (after Chinese ad
lines are cut), because C4's line removal would erase exactly what they measure; C4's sentence count, the Han
character minimum and bad words judge the text that is kept (the Chinese stop-word share judges the page).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from udfs.quality.badwords import tag_badwords
from udfs.quality.c4 import filter_lines, tag_c4
from udfs.quality.chinese import remove_ad_lines, tag_chinese
from udfs.quality.config import QualityConfig
from udfs.quality.fineweb import tag_fineweb
from udfs.quality.gopher_quality import tag_gopher_quality
from udfs.quality.gopher_repetition import DUP_NGRAMS, TOP_NGRAMS, tag_gopher_repetition
from udfs.quality.text import Lines, Words, count_words
from udfs.quality.url import tag_urls


@dataclass(frozen=True)
class Rule:
    """One named filter: drop when ``column`` < conf ``low`` or > conf ``high``, or (flag rules) when it is true."""

    family: str
    """Reason prefix; also the conf sub-section, except ``zh`` → ``chinese``."""
    name: str
    """Reason suffix; ``{lang}`` is replaced by the document's language (``badwords:en``)."""
    column: str
    low: str | None = None
    high: str | None = None
    switch: str | None = None
    """For flag rules: a boolean conf field that turns the rule on (none: always on)."""

    @property
    def section(self) -> str:
        return "chinese" if self.family == "zh" else self.family

    @property
    def reason(self) -> str:
        return f"{self.family}:{self.name}"

    @property
    def is_flag(self) -> bool:
        return self.low is None and self.high is None


RULES: tuple[Rule, ...] = (
    Rule("url", "blocklist", "url_blocked"),
    Rule("url", "substring", "url_banned"),
    Rule("zh", "ad_lines", "zh_ad_line_ratio", high="max_ad_line_ratio"),
    Rule("zh", "min_chinese_chars", "zh_chars", low="min_chinese_chars"),
    Rule("zh", "stop_words", "zh_stopword_ratio", low="min_stopword_ratio"),
    Rule("gopher_repetition", "dup_line_frac", "gr_dup_line_frac", high="max_dup_line_frac"),
    Rule("gopher_repetition", "dup_para_frac", "gr_dup_para_frac", high="max_dup_para_frac"),
    Rule("gopher_repetition", "dup_line_char_frac", "gr_dup_line_char_frac", high="max_dup_line_char_frac"),
    Rule("gopher_repetition", "dup_para_char_frac", "gr_dup_para_char_frac", high="max_dup_para_char_frac"),
    *(
        Rule("gopher_repetition", f"top_{n}gram_frac", f"gr_top_{n}gram_frac", high=f"max_top_{n}gram_frac")
        for n in TOP_NGRAMS
    ),
    *(
        Rule("gopher_repetition", f"dup_{n}gram_frac", f"gr_dup_{n}gram_frac", high=f"max_dup_{n}gram_frac")
        for n in DUP_NGRAMS
    ),
    Rule("gopher_quality", "word_count", "gq_words", low="min_words", high="max_words"),
    Rule("gopher_quality", "mean_word_length", "gq_mean_word_length", "min_mean_word_length", "max_mean_word_length"),
    Rule("gopher_quality", "symbol_ratio", "gq_symbol_ratio", high="max_symbol_word_ratio"),
    Rule("gopher_quality", "bullet_lines", "gq_bullet_lines_ratio", high="max_bullet_lines_ratio"),
    Rule("gopher_quality", "ellipsis_lines", "gq_ellipsis_lines_ratio", high="max_ellipsis_lines_ratio"),
    Rule("gopher_quality", "alpha_words", "gq_alpha_words_ratio", low="min_alpha_words_ratio"),
    Rule("gopher_quality", "stop_words", "gq_stop_words", low="min_stop_words"),
    Rule("c4", "lorem_ipsum", "c4_lorem_ipsum", switch="drop_lorem_ipsum"),
    Rule("c4", "curly_bracket", "c4_curly_bracket", switch="drop_curly_bracket"),
    Rule("c4", "min_sentences", "c4_sentences", low="min_sentences"),
    Rule("fineweb", "line_punct_ratio", "fw_line_punct_ratio", low="min_line_punct_ratio"),
    Rule("fineweb", "short_line_ratio", "fw_short_line_ratio", high="max_short_line_ratio"),
    Rule("fineweb", "char_dup_ratio", "fw_char_dup_ratio", high="max_char_dup_ratio"),
    Rule("fineweb", "list_ratio", "fw_newline_word_ratio", high="max_newline_word_ratio"),
    Rule("badwords", "{lang}", "badwords_ratio", high="max_ratio"),
)

# Columns the batch function adds (Spark types); every rule column is here.
OUTPUT_COLUMNS: dict[str, str] = {
    "text": "string",
    "zh_ad_lines_removed": "int",
    "c4_lines_removed": "int",
    **{r.column: ("boolean" if r.is_flag else "double") for r in RULES},
}


def active_rules(conf: QualityConfig) -> list[Rule]:
    """Rules whose filter is enabled (and, for flag rules, whose switch is on)."""
    rules = []
    for rule in RULES:
        section = getattr(conf, rule.section)
        if section.enabled and (rule.switch is None or getattr(section, rule.switch)):
            rules.append(rule)
    return rules


# The vectorized split holds a few numbers per character of the batch (~40 bytes): long Arrow batches are cut into
# chunks of about this many characters, so memory stays bounded whatever spark.sql.execution.arrow.maxRecordsPerBatch.
MAX_CHUNK_CHARS = 4_000_000


def tag_batch(batch: pd.DataFrame, conf: QualityConfig) -> pd.DataFrame:
    """Score columns (``OUTPUT_COLUMNS``) for a batch with ``text``, ``url`` and ``lang``; same row order."""
    lengths = batch["text"].fillna("").str.len().to_numpy()
    if len(batch) <= 1 or lengths.sum() <= MAX_CHUNK_CHARS:
        return _tag_chunk(batch, conf)
    chunk_of_row = np.cumsum(lengths) // MAX_CHUNK_CHARS
    starts = np.flatnonzero(np.concatenate(([True], chunk_of_row[1:] != chunk_of_row[:-1])))
    bounds = [*starts.tolist(), len(batch)]
    parts = [_tag_chunk(batch.iloc[a:b].reset_index(drop=True), conf) for a, b in pairwise(bounds)]
    return pd.concat(parts, ignore_index=True)


def _tag_chunk(batch: pd.DataFrame, conf: QualityConfig) -> pd.DataFrame:
    texts = batch["text"].fillna("").astype(str).tolist()
    langs = [lang if isinstance(lang, str) else "" for lang in batch["lang"].tolist()]
    urls = batch["url"].tolist() if "url" in batch else [None] * len(texts)
    n = len(texts)
    cjk = np.fromiter((lang in conf.cjk_languages for lang in langs), dtype=bool, count=n)
    chinese = np.fromiter((lang in conf.chinese.apply_to for lang in langs), dtype=bool, count=n)
    out: dict[str, Any] = {}

    if conf.url.enabled:
        out.update(tag_urls(urls, conf.url))
    ad_ratio = np.full(n, np.nan)
    ad_removed = np.zeros(n, dtype=np.int64)
    if conf.chinese.enabled and conf.chinese.remove_ad_lines and chinese.any():
        texts, ad_removed, ad_ratio = remove_ad_lines(texts, chinese)
    out["zh_ad_lines_removed"], out["zh_ad_line_ratio"] = ad_removed, ad_ratio

    lines = Lines.split(texts)
    words = Words.split(texts, cjk)
    if conf.gopher_repetition.enabled:
        out.update(tag_gopher_repetition(texts, lines, words))
    if conf.gopher_quality.enabled:
        out.update(tag_gopher_quality(texts, langs, cjk, lines, words, conf.gopher_quality.stop_words))
    if conf.fineweb.enabled:
        short = np.array([conf.fineweb.value("short_line_chars", lang) or 0 for lang in langs], dtype=np.int64)
        out.update(tag_fineweb(texts, cjk, short, lines, words))

    kept = texts
    if conf.c4.enabled:
        floor = np.array([conf.c4.value("min_words_per_line", lang) or 0 for lang in langs], dtype=np.int64)
        kept, out["c4_lines_removed"] = filter_lines(texts, cjk, floor, conf.c4)
        out.update(tag_c4(texts, kept, cjk, conf.c4))
    if conf.chinese.enabled:
        out.update(tag_chinese(texts, kept, chinese))
    if conf.badwords.enabled:
        kept_words = words.per_doc if kept is texts else count_words(kept, cjk)
        bad = conf.badwords
        out.update(
            tag_badwords(
                kept, langs, kept_words, bad.substring_languages, bad.add_bigscience_flagged, bad.allowed_contexts
            )
        )

    frame = pd.DataFrame({"text": kept})
    for name, kind in OUTPUT_COLUMNS.items():
        if name == "text":
            continue
        if name in out:
            frame[name] = out[name]
        elif kind == "boolean":
            frame[name] = False
        elif kind == "int":
            frame[name] = 0
        else:
            frame[name] = np.nan
    return frame


def threshold(conf: QualityConfig, rule: Rule, bound: str, lang: str | None) -> float | None:
    """The ``low``/``high`` threshold of ``rule`` for ``lang`` (None: the rule is off for that language)."""
    field_name = getattr(rule, bound)
    return None if field_name is None else getattr(conf, rule.section).value(field_name, lang)


def reasons(scores: pd.DataFrame, langs: pd.Series, conf: QualityConfig) -> pd.Series:
    """The first ``filter:rule`` reason per row (None: kept) — the pandas form of the stage's Spark expression."""
    result: list[str | None] = []
    rules = active_rules(conf)
    records = scores.to_dict("records")
    for record, lang in zip(records, langs.tolist(), strict=True):
        reason = None
        for rule in rules:
            value = record[rule.column]
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            if rule.is_flag:
                hit = bool(value)
            else:
                low, high = threshold(conf, rule, "low", lang), threshold(conf, rule, "high", lang)
                hit = (low is not None and value < low) or (high is not None and value > high)
            if hit:
                reason = rule.reason.replace("{lang}", lang or "")
                break
        result.append(reason)
    return pd.Series(result, index=scores.index, dtype=object)
