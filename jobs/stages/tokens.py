"""Stage ``tokens``: ``category`` from URL rules (then the optional category classifier), ``category_source``,
``category_score``, ``n_tokens`` with the configured LLM tokenizer, ``n_chars``, ``n_bytes``. Drops nothing.

Only ``n_tokens`` and the category classifier need Python (tokenizer and fastText model, once per worker, in Arrow
batches of live rows). The URL-rule category is a Spark ``CASE WHEN`` over ``rlike`` on the domain and URL, except
in a sharded run: its pass reads every row's domain and URL in Python anyway and matches the same rules with RE2
(``udfs.categories.categorize``, column ``_url_category``), a tenth of the JVM's CPU time for the regexes.
``n_chars``/``n_bytes`` are Spark's ``char_length`` and ``octet_length``. Those are computed for every row,
rejected ones included (cheap, and they let the report weigh what each filter removed); ``n_tokens`` and the
classifier only for live rows (rejected rows keep the URL-rule category, source ``url`` or ``none``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.stages.common import map_live_rows
from udfs.document_pass import URL_CATEGORY
from udfs.errors import ConfigError

STAGE = "tokens"
CATEGORY_COLUMNS = {"category": "string", "category_source": "string", "category_score": "double"}
"""The columns the category classifier replaces (name → Spark type)."""


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


def with_url_category(frame: DataFrame, context: Any) -> DataFrame:
    """``category`` from the URL rules, ``category_source`` (``url`` / ``none``) and a null ``category_score``."""
    conf = context.conf.categories
    if conf.uses_classifier:
        check_classifier_model(conf)
    lang = F.col("lang") if "lang" in frame.columns else F.lit(None).cast("string")  # langid may not have run
    category = category_column(conf, lang)
    if URL_CATEGORY in frame.columns:
        # The sharded pass computed it for every staged row; rows from elsewhere (null) get the Spark rules.
        category = F.coalesce(F.col(URL_CATEGORY), category)
    categorized = frame.withColumn("category", category).drop(URL_CATEGORY)
    source = F.when(F.col("category") != F.lit(conf.fallback), F.lit("url")).otherwise(F.lit("none"))
    categorized = categorized.withColumn("category_source", source)
    return categorized.withColumn("category_score", F.lit(None).cast("double"))


def check_classifier_model(conf: Any) -> None:
    """Fail on the driver, naming the key, before any executor tries to load a missing model."""
    from udfs.perplexity import resolve_model_path

    try:
        resolve_model_path(conf.classifier_model)
    except FileNotFoundError as exc:
        raise ConfigError(f"categories.classifier_model: {exc}") from None


def measure(frame: DataFrame, context: Any, categorized: bool = False) -> DataFrame:
    """``category`` (URL rules), ``category_source``, ``category_score``, ``n_chars`` and ``n_bytes``: Spark
    expressions, for every row. ``categorized``: the frame has its category columns already (the classifier ran)."""
    measured = frame if categorized else with_url_category(frame, context)
    measured = measured.withColumn("n_chars", F.char_length("text").cast("bigint"))
    return measured.withColumn("n_bytes", F.octet_length("text").cast("bigint"))


def apply_to_rejected(frame: DataFrame, context: Any) -> DataFrame:
    """The stage's columns on rows that are all rejected: no tokenizer, so their text never goes to Python."""
    return measure(frame, context).withColumn("n_tokens", F.lit(None).cast("bigint"))


def apply(frame: DataFrame, context: Any) -> DataFrame:
    from udfs.categories import classify_documents
    from udfs.tokens import count_tokens

    conf, categories = context.conf.tokens, context.conf.categories
    if not (conf.enabled or categories.uses_classifier):
        return apply_to_rejected(frame, context)
    measured = measure(frame, context)
    if not conf.enabled:
        measured = measured.withColumn("n_tokens", F.lit(None).cast("bigint"))
    columns = {**({"n_tokens": "bigint"} if conf.enabled else {}),
               **(CATEGORY_COLUMNS if categories.uses_classifier else {})}

    def count_and_classify(batch: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(index=range(len(batch)))
        if conf.enabled:
            out["n_tokens"] = count_tokens(batch["text"], conf)["n_tokens"].to_numpy()
        if categories.uses_classifier:
            classified = classify_documents(batch["text"], batch["category"], categories)
            for name in CATEGORY_COLUMNS:
                out[name] = classified[name].to_numpy()
        return out

    return map_live_rows(measured, count_and_classify, columns)
