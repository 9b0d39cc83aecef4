"""Stage ``dedup``: exact duplicates by a hash of normalized text (Spark column functions only).

Every removed copy is rejected with ``dedup:exact`` and ``duplicate_of`` = the id of the copy that was kept, so
each removal can be audited. Only live rows take part; rejected rows pass through untouched.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from udfs.dedup.config import DedupConfig, TextKeyConfig

STAGE = "dedup"
REASON_EXACT = "dedup:exact"


def text_key(config: TextKeyConfig) -> Column:
    """SHA-256 of the normalized text: 256 bits, so collisions are not a concern at any crawl size."""
    text = F.col("text")
    if config.lowercase:
        text = F.lower(text)
    if config.strip_punctuation:
        text = F.regexp_replace(text, r"[\p{P}\p{S}]", "")
    if config.strip_digits:
        text = F.regexp_replace(text, r"\p{N}", "")
    if config.collapse_whitespace:
        text = F.trim(F.regexp_replace(text, r"\s+", " "))
    return F.sha2(text, 256)


def keep_order(conf: DedupConfig, columns: list[str]) -> list[Column]:
    """Sort order within a duplicate group: the first row is the copy that is kept (ties broken by id)."""
    first = [F.col("date").asc_nulls_last(), F.col("id").asc()]
    if conf.keep == "longest":
        return [F.length("text").desc(), *first]
    if conf.keep == "quality" and conf.quality_column in columns:
        return [F.col(conf.quality_column).desc_nulls_last(), *first]
    return first


def apply_exact_dedup(frame: DataFrame, conf: DedupConfig) -> DataFrame:
    live = F.col("reason").isNull()
    # Rejected rows get a null key, so they never join a live group.
    keyed = frame.withColumn("_key", F.when(live, text_key(conf.exact.text_key)))
    group = Window.partitionBy("_key").orderBy(*keep_order(conf, frame.columns))
    ranked = keyed.withColumn("_rank", F.row_number().over(group)).withColumn("_kept", F.first("id").over(group))
    duplicate = live & F.col("_key").isNotNull() & (F.col("_rank") > 1)
    if "duplicate_of" not in frame.columns:
        ranked = ranked.withColumn("duplicate_of", F.lit(None).cast("string"))
    return ranked.select(
        *[c for c in frame.columns if c not in ("stage", "reason", "duplicate_of")],
        F.when(duplicate, F.lit(STAGE)).otherwise(F.col("stage")).alias("stage"),
        F.when(duplicate, F.lit(REASON_EXACT)).otherwise(F.col("reason")).alias("reason"),
        F.when(duplicate, F.col("_kept")).otherwise(F.col("duplicate_of")).alias("duplicate_of"),
    )


def apply(frame: DataFrame, context: Any) -> DataFrame:
    conf: DedupConfig = context.conf.dedup
    if conf.exact.enabled:
        frame = apply_exact_dedup(frame, conf)
    return frame
