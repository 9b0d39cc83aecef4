"""The quality stage over a batch: tag every score column once, then apply conf thresholds (tag-then-filter).

The rules are the registry of conf/quality.yaml (:mod:`udfs.quality.config`): each entry names a score column and
the function computing it. ``tag_batch`` wraps the batch in :class:`Documents` (the texts every function shares:
lines and words split once, the rewritten text), calls each function of an enabled family once, and returns the
rewritten text (Chinese ad lines and C4's bad lines removed, with the counts) and one score column per rule. The
Spark stage turns the rules into column expressions; ``reasons`` is the same decision in pandas (tests, bench).

Which text each score sees: the structure rules (Gopher, FineWeb) judge the page as it came (after Chinese ad
lines are cut), because C4's line removal would erase exactly what they measure; C4's sentence count, the Han
character minimum and bad words judge the text that is kept (the Chinese stop-word share judges the page).
"""

from __future__ import annotations

from functools import cached_property
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from udfs.quality.config import QualityConfig, Rule, RuleFamily, resolve_scorer
from udfs.quality.text import BatchPoints, Lines, Words

if TYPE_CHECKING:
    from udfs.quality.c4 import KeptLines

REWRITE_COLUMNS: dict[str, str] = {"text": "string", "zh_ad_lines_removed": "int", "c4_lines_removed": "int"}
"""Columns of the two rewrites (ad-line and C4 line removal) that every tagged batch has besides the scores."""


def output_columns(conf: QualityConfig) -> dict[str, str]:
    """Columns (Spark types) ``tag_batch`` returns under ``conf``: the rewrites, then one score per rule."""
    return {**REWRITE_COLUMNS, **{r.score: ("boolean" if r.is_flag else "double") for r in conf.rules()}}


def active_rules(conf: QualityConfig) -> list[Rule]:
    """Rules of enabled families whose switch (flag rules) is on, in check order."""
    return [
        rule
        for family in conf.families.values()
        if family.enabled
        for rule in family.rules.values()
        if rule.switch is None or family.thresholds[rule.switch]
    ]


class Documents:
    """One batch as the scoring functions see it. ``page``: the text after ad-line removal (what the structure
    rules judge); ``kept``: after C4's line removal too (what is kept). Splits are computed once, on first use."""

    def __init__(self, texts: list[str], langs: list[str], urls: list[str | None], conf: QualityConfig) -> None:
        self.conf = conf
        self.langs = langs
        self.urls = urls
        self.size = len(texts)
        self.cjk = self.rows(conf.cjk_languages)
        self.ad_lines_removed = np.zeros(self.size, dtype=np.int64)
        self.ad_line_ratio = np.full(self.size, np.nan)
        chinese = conf.families.get("chinese")
        self.page = texts
        if chinese is not None and chinese.enabled and chinese.remove_ad_lines:
            from udfs.quality.chinese import remove_ad_lines

            rows = self.rows(chinese.apply_to)
            if rows.any():
                self.page, self.ad_lines_removed, self.ad_line_ratio = remove_ad_lines(texts, rows, chinese)

    def rows(self, languages: tuple[str, ...]) -> np.ndarray:
        """Documents whose language is in ``languages`` (all of them when it is empty)."""
        if not languages:
            return np.ones(self.size, dtype=bool)
        wanted = set(languages)
        return np.fromiter((lang in wanted for lang in self.langs), dtype=bool, count=self.size)

    @cached_property
    def points(self) -> BatchPoints:
        """The page texts' code points, which the line and word splits share."""
        return BatchPoints.of(self.page)

    @cached_property
    def lines(self) -> Lines:
        return Lines.split(self.points)

    @cached_property
    def words(self) -> Words:
        return Words.split(self.points, self.cjk)

    @cached_property
    def lowered_page(self) -> str:
        """The page texts lower-cased one by one (Greek final sigma depends on what follows), then joined, for
        substring tests of the whole batch at once."""
        return "".join([text.lower() for text in self.page])

    @cached_property
    def _c4(self) -> KeptLines | None:
        c4 = self.conf.families.get("c4")
        if c4 is None or not c4.enabled:
            return None
        from udfs.quality.c4 import keep_lines

        floor = np.array([c4.value("min_words_per_line", lang) or 0 for lang in self.langs], dtype=np.int64)
        return keep_lines(self.page, self.cjk, floor, c4, self.points, self.lowered_page)

    @property
    def kept(self) -> list[str]:
        return self.page if self._c4 is None else self._c4.texts

    @property
    def c4_lines_removed(self) -> np.ndarray:
        return np.zeros(self.size, dtype=np.int64) if self._c4 is None else self._c4.removed

    @property
    def kept_sentences(self) -> np.ndarray | None:
        """Sentence ends per ``kept`` text, when C4's line clean-up counted them."""
        return None if self._c4 is None else self._c4.sentences

    @cached_property
    def kept_words(self) -> np.ndarray:
        """Words per document of the ``kept`` text."""
        return self.words.per_doc if self._c4 is None else self._c4.words


# The vectorized split holds a few numbers per character of the batch (~40 bytes): long Arrow batches are cut into
# chunks of about this many characters, so memory stays bounded whatever spark.sql.execution.arrow.maxRecordsPerBatch.
MAX_CHUNK_CHARS = 4_000_000


def tag_batch(batch: pd.DataFrame, conf: QualityConfig) -> pd.DataFrame:
    """``output_columns(conf)`` for a batch with ``text``, ``url`` and ``lang``; same row order."""
    lengths = batch["text"].fillna("").str.len().to_numpy()
    if len(batch) <= 1 or lengths.sum() <= MAX_CHUNK_CHARS:
        return _tag_chunk(batch, conf)
    chunk_of_row = np.cumsum(lengths) // MAX_CHUNK_CHARS
    starts = np.flatnonzero(np.concatenate(([True], chunk_of_row[1:] != chunk_of_row[:-1])))
    bounds = [*starts.tolist(), len(batch)]
    parts = [_tag_chunk(batch.iloc[a:b].reset_index(drop=True), conf) for a, b in pairwise(bounds)]
    return pd.concat(parts, ignore_index=True)


def _scores_of_family(docs: Documents, family: RuleFamily) -> dict[str, Any]:
    """Each scoring function of ``family`` once, on the documents its rules apply to; each rule's score is null
    (false for flags) outside the rule's languages."""
    out: dict[str, Any] = {}
    by_scorer: dict[str, list[Rule]] = {}
    for rule in family.rules.values():
        by_scorer.setdefault(rule.scorer, []).append(rule)
    for scorer, rules in by_scorer.items():
        restricted = all(rule.languages for rule in rules)
        rows = docs.rows(tuple(sorted({lang for rule in rules for lang in rule.languages}))) if restricted else None
        if rows is not None and not rows.any():
            continue
        scores = resolve_scorer(scorer)(docs, family, rows if rows is not None else docs.rows(()))
        for rule in rules:
            values = scores[rule.score]
            if rule.languages:
                outside = ~docs.rows(rule.languages)
                if outside.any():
                    values = np.array(values, dtype=bool if rule.is_flag else np.float64, copy=True)
                    values[outside] = False if rule.is_flag else np.nan
            out[rule.score] = values
    return out


def _tag_chunk(batch: pd.DataFrame, conf: QualityConfig) -> pd.DataFrame:
    texts = batch["text"].fillna("").astype(str).tolist()
    langs = [lang if isinstance(lang, str) else "" for lang in batch["lang"].tolist()]
    urls = batch["url"].tolist() if "url" in batch else [None] * len(texts)
    docs = Documents(texts, langs, urls, conf)
    out: dict[str, Any] = {}
    for family in conf.families.values():
        if family.enabled:
            out.update(_scores_of_family(docs, family))
    frame = pd.DataFrame({"text": docs.kept})
    frame["zh_ad_lines_removed"] = docs.ad_lines_removed
    frame["c4_lines_removed"] = docs.c4_lines_removed
    for rule in conf.rules():
        frame[rule.score] = out.get(rule.score, False if rule.is_flag else np.nan)
    return frame


def threshold(conf: QualityConfig, rule: Rule, bound: str, lang: str | None) -> float | None:
    """The ``low``/``high`` threshold of ``rule`` for ``lang`` (None: the rule is off for that language)."""
    name = getattr(rule, bound)
    return None if name is None else conf.families[rule.family].value(name, lang)


def reasons(scores: pd.DataFrame, langs: pd.Series, conf: QualityConfig) -> pd.Series:
    """The first failed rule's reason per row (None: kept) — the stage's Spark expression in numpy, one rule at a
    time over the batch (jobs/stages/quality.py; tests/test_quality_spark.py runs the same rows through both).

    A null or NaN score never fails its rule; nor does a threshold that is off (None) for the row's language.
    """
    n = len(scores)
    lang_list = [lang if isinstance(lang, str) else None for lang in langs.tolist()]
    # Thresholds are looked up once per distinct language of the batch, then spread to its rows.
    distinct = sorted({lang or "" for lang in lang_list})
    lang_code = np.searchsorted(distinct, [lang or "" for lang in lang_list]).astype(np.int64)
    result = np.full(n, None, dtype=object)
    undecided = np.ones(n, dtype=bool)
    for rule in active_rules(conf):
        column = scores[rule.score]
        if rule.is_flag:
            hit = column.astype("boolean").fillna(False).to_numpy(dtype=bool)
        else:
            values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            hit = np.zeros(n, dtype=bool)
            for bound, fails in (("low", np.less), ("high", np.greater)):
                per_lang = [threshold(conf, rule, bound, lang or None) for lang in distinct]
                limits = np.array([np.nan if t is None else t for t in per_lang], dtype=np.float64)[lang_code]
                hit |= fails(values, limits)  # NaN on either side compares false
        new = np.flatnonzero(hit & undecided)
        if len(new):
            if "{lang}" in rule.reason:
                result[new] = [rule.reason_for(lang_list[row]) for row in new.tolist()]
            else:
                result[new] = rule.reason
            undecided[new] = False
    return pd.Series(result, index=scores.index, dtype=object)
