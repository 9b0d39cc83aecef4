"""Model-based quality, applied at the end of the ``quality`` stage: KenLM perplexity (CCNet/LLaMA) and a fastText
quality classifier (GPT-3). Each part runs only when its conf section has ``enabled: true``.

Tag then filter, as everywhere: the batch functions only score (``perplexity``, ``quality_score``); buckets,
limits and the keep rules are Spark expressions over those columns.

- ``perplexity`` / ``perplexity_bucket``: CCNet buckets from per-language cut-offs — fixed in conf
  (``perplexity.cutoffs``) or computed on this run's live documents with ``percentile_approx`` grouped by language
  (the scored frame is persisted for that pass so KenLM runs once; a language with fewer than
  ``min_documents_for_cutoffs`` documents gets no bucket). Drops: ``perplexity:max`` (above the absolute
  per-language limit), ``perplexity:bucket_<name>`` (bucket not in ``keep_buckets``).
- ``quality_score``: P(reference-like). Drops: ``quality_classifier:low_score`` (threshold rule) or
  ``quality_classifier:pareto`` (GPT-3 rule; the draw is ``xxhash64(seed, id)`` turned into a Pareto variate, so a
  rerun drops the same documents).

Documents whose language has no model get null scores and a null bucket and are never dropped here.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.stages.common import first_reason, map_live_rows, per_language, tag_rejects
from udfs.errors import ConfigError

LOG = logging.getLogger("cc_refinery")

STAGE = "quality"
PERPLEXITY_LIVE = "_perplexity_live"
"""Sharded runs: the document was alive after the perplexity rules of its shard's pass (so it takes part in the
data-driven cut-offs and buckets of the global phase, as it would have before the classifier ran)."""


def apply(frame: DataFrame, context: Any) -> DataFrame:
    perplexity_conf = context.conf.perplexity
    classifier_conf = context.conf.quality_classifier
    if not (perplexity_conf.enabled or classifier_conf.enabled):
        return frame
    if "lang" not in frame.columns:
        raise ConfigError("perplexity/quality_classifier: need the `lang` column (run the langid stage first)")
    if perplexity_conf.enabled:
        check_models(perplexity_conf.models, "perplexity.models")
        sharded = getattr(context, "sharded", False)
        frame = apply_perplexity(frame, perplexity_conf, sharded)
        if sharded:  # the global phase buckets these documents (see apply_perplexity), before the classifier's drops
            frame = frame.withColumn(PERPLEXITY_LIVE, F.col("reason").isNull() & F.col("perplexity").isNotNull())
    if classifier_conf.enabled:
        check_models(classifier_conf.models, "quality_classifier.models")
        frame = apply_classifier(frame, classifier_conf)
    return frame


def check_models(models: dict[str, str], key: str) -> None:
    """Fail on the driver, naming the key, before any executor tries to load a missing model."""
    from udfs.perplexity import resolve_model_path

    for lang, path in models.items():
        try:
            resolve_model_path(path)
        except FileNotFoundError as exc:
            raise ConfigError(f"{key}.{lang}: {exc}") from None


def compute_cutoffs(frame: DataFrame, langs: list[str], conf: Any) -> dict[str, tuple[float, float]]:
    """Per-language perplexity percentiles of the live scored documents (a small collect: two numbers a language),
    for languages with at least ``conf.min_documents_for_cutoffs`` such documents."""
    if not langs:
        return {}
    fractions = F.array(*[F.lit(p / 100.0) for p in conf.percentiles])
    rows = (
        frame.where(F.col("reason").isNull() & F.col("perplexity").isNotNull() & F.col("lang").isin(langs))
        .groupBy("lang")
        .agg(
            F.percentile_approx("perplexity", fractions, conf.percentile_accuracy).alias("cutoffs"),
            F.count("*").alias("documents"),
        )
        .collect()
    )
    cutoffs = {}
    for row in rows:
        if row["documents"] >= conf.min_documents_for_cutoffs:
            cutoffs[row["lang"]] = (float(row["cutoffs"][0]), float(row["cutoffs"][1]))
        else:
            LOG.warning("perplexity: %d %s documents < min_documents_for_cutoffs: no buckets for %s",
                        row["documents"], row["lang"], row["lang"])
    return cutoffs


def bucket_column(cutoffs: dict[str, tuple[float, float]]) -> Column:
    """``head`` / ``middle`` / ``tail`` from each row's language cut-offs; null without a score or cut-offs."""
    expression = F.lit(None).cast("string")
    perplexity = F.col("perplexity")
    for lang, (head_max, middle_max) in sorted(cutoffs.items()):
        bucket = (
            F.when(perplexity.isNull(), F.lit(None).cast("string"))
            .when(perplexity < head_max, F.lit("head"))
            .when(perplexity < middle_max, F.lit("middle"))
            .otherwise(F.lit("tail"))
        )
        expression = F.when(F.col("lang") == lang, bucket).otherwise(expression)
    return expression


def apply_perplexity(frame: DataFrame, conf: Any, defer_cutoffs: bool = False) -> DataFrame:
    """Score, bucket and filter. With ``defer_cutoffs`` (the sharded pipeline, where one shard is not the corpus)
    the cut-offs that must be computed from the data are left to the global phase (:func:`deferred_cutoffs`), which
    buckets those languages on the compact keys; cut-offs fixed in conf and ``perplexity:max`` apply here."""
    from udfs.perplexity import score_documents

    columns = {"perplexity": "double"}
    if conf.paragraph_perplexities:
        columns["paragraph_perplexities"] = "array<double>"

    def score(batch: pd.DataFrame) -> pd.DataFrame:
        return score_documents(batch["text"], batch["lang"], conf)

    scored = map_live_rows(frame, score, columns)
    to_compute = deferred_cutoffs(conf)
    if to_compute and not defer_cutoffs:
        scored = scored.persist()  # the percentile pass and the rest of the pipeline share one KenLM pass
        cutoffs = dict(conf.cutoffs) | compute_cutoffs(scored, to_compute, conf)
    else:
        cutoffs = dict(conf.cutoffs)
    bucketed = scored.withColumn("perplexity_bucket", bucket_column(cutoffs))
    conditions = perplexity_conditions(conf)
    return tag_rejects(bucketed, STAGE, first_reason(conditions)) if conditions else bucketed


def deferred_cutoffs(conf: Any) -> list[str]:
    """Languages whose bucket cut-offs come from this run's data (not fixed in ``perplexity.cutoffs``)."""
    return sorted(lang for lang in conf.models if lang not in conf.cutoffs) if conf.enabled else []


def perplexity_conditions(conf: Any, include_max: bool = True) -> list[tuple[Column, str]]:
    """(drop condition, reason) over ``perplexity`` and ``perplexity_bucket``, in order: the limit, then buckets —
    ``udfs.perplexity.drop_conditions`` evaluated over Spark columns."""
    from udfs.perplexity import REASON_MAX, drop_conditions, max_perplexity_limits

    limits, default = max_perplexity_limits(conf)
    conditions = drop_conditions(F.col("perplexity"), F.col("perplexity_bucket"), per_language(limits, default), conf)
    return [(condition, reason) for condition, reason in conditions if include_max or reason != REASON_MAX]


def id_uniform(seed: int) -> Column:
    """Each document's uniform in [0, 1) from ``xxhash64(seed, id)`` (``udfs.quality_classifier.id_uniforms`` is
    the same number in Python)."""
    from udfs.quality_classifier import UNIFORM_BITS

    modulus = 2**UNIFORM_BITS
    return F.pmod(F.xxhash64(F.lit(seed), F.col("id")), F.lit(modulus)).cast("double") / float(modulus)


def classifier_reason(conf: Any) -> Column:
    """The keep rule (``udfs.quality_classifier.drop_condition``) over ``quality_score`` and the id's uniform."""
    from udfs.quality_classifier import drop_condition

    condition, reason = drop_condition(F.col("quality_score"), id_uniform(conf.seed), conf)
    return first_reason([(condition, reason)])


def apply_classifier(frame: DataFrame, conf: Any) -> DataFrame:
    from udfs.quality_classifier import score_documents

    def score(batch: pd.DataFrame) -> pd.DataFrame:
        return score_documents(batch["text"], batch["lang"], conf)

    scored = map_live_rows(frame, score, {"quality_score": "double"})
    return tag_rejects(scored, STAGE, classifier_reason(conf))
