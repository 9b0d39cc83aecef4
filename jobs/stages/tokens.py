"""Stage ``tokens``: ``category`` from URL rules, ``n_tokens`` with the configured LLM tokenizer, ``n_chars``,
``n_bytes``. Drops nothing.

Only ``n_tokens`` needs Python (the tokenizer, once per worker, in Arrow batches of live rows). The category is a
Spark ``CASE WHEN`` over ``rlike`` on the domain and URL — the rules are regexes over two short columns, so the JVM
evaluates them without shipping any text to Python — and ``n_chars``/``n_bytes`` are Spark's ``char_length`` and
``octet_length``. Those three are computed for every row, rejected ones included (cheap, and they let the report
weigh what each filter removed); ``n_tokens`` only for live rows.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.stages.common import map_live_rows

STAGE = "tokens"


def category_column(conf: Any, lang: Column | None = None) -> Column:
    """The first matching rule's category (conf order), else ``conf.fallback``; mirrors udfs.categories.categorize.

    ``lang`` defaults to the ``lang`` column; pass a null literal when language ID did not run.
    """
    lang = F.col("lang") if lang is None else lang
    expression = F.lit(conf.fallback)
    if not conf.enabled:
        return expression
    domain = F.lower(F.coalesce(F.col("domain"), F.lit("")))
    url = F.lower(F.coalesce(F.col("url"), F.lit("")))
    for rule in reversed(conf.rules):
        hit = F.lit(False)
        if (domain_regex := rule.domain_regex()) is not None:
            hit = hit | domain.rlike(domain_regex)
        if (url_regex := rule.url_regex()) is not None:
            hit = hit | url.rlike(url_regex)
        if rule.langs:
            hit = hit & F.coalesce(lang.isin(list(rule.langs)), F.lit(False))
        expression = F.when(hit, F.lit(rule.category)).otherwise(expression)
    return expression


def measure(frame: DataFrame, context: Any) -> DataFrame:
    """``category``, ``n_chars`` and ``n_bytes``: Spark expressions, for every row."""
    lang = F.col("lang") if "lang" in frame.columns else F.lit(None).cast("string")  # langid may not have run
    measured = frame.withColumn("category", category_column(context.conf.categories, lang))
    measured = measured.withColumn("n_chars", F.char_length("text").cast("bigint"))
    return measured.withColumn("n_bytes", F.octet_length("text").cast("bigint"))


def apply_to_rejected(frame: DataFrame, context: Any) -> DataFrame:
    """The stage's columns on rows that are all rejected: no tokenizer, so their text never goes to Python."""
    return measure(frame, context).withColumn("n_tokens", F.lit(None).cast("bigint"))


def apply(frame: DataFrame, context: Any) -> DataFrame:
    from udfs.tokens import count_tokens

    conf = context.conf.tokens
    if not conf.enabled:
        return apply_to_rejected(frame, context)
    measured = measure(frame, context)

    def count(batch: pd.DataFrame) -> pd.DataFrame:
        return count_tokens(batch["text"], conf)[["n_tokens"]]

    return map_live_rows(measured, count, {"n_tokens": "bigint"})
