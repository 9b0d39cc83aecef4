"""Exact dedup in Spark: one copy per normalized text, chosen by the keep policy, with duplicate_of."""

from __future__ import annotations

from typing import Any

import pytest
from pyspark.testing import assertDataFrameEqual

from jobs.stages.dedup import apply_exact_dedup
from udfs.dedup.config import DedupConfig

pytestmark = pytest.mark.spark

SCHEMA = "id string, date string, text string, stage string, reason string"
ROWS = [
    ("a", "2024-02-01", "Hello   World", None, None),
    ("b", "2024-01-01", "hello world", None, None),  # same text after lowercasing + whitespace folding
    ("c", "2024-03-01", "HELLO WORLD!", None, None),  # differs by punctuation
    ("d", "2023-01-01", "hello world", "langid", "langid:low_score"),  # already rejected: takes no part
    ("e", "2024-01-05", "something else", None, None),
]


def result_rows(spark: Any, conf: DedupConfig) -> Any:
    frame = spark.createDataFrame(ROWS, SCHEMA).repartition(3)
    return apply_exact_dedup(frame, conf).select("id", "stage", "reason", "duplicate_of")


def test_first_policy_keeps_the_earliest_copy(spark: Any) -> None:
    expected = spark.createDataFrame(
        [("a", "dedup", "dedup:exact", "b"), ("b", None, None, None), ("c", None, None, None),
         ("d", "langid", "langid:low_score", None), ("e", None, None, None)],
        "id string, stage string, reason string, duplicate_of string",
    )  # fmt: skip
    assertDataFrameEqual(result_rows(spark, DedupConfig()), expected)


def test_longest_policy_and_punctuation_folding(spark: Any) -> None:
    conf = DedupConfig.from_dict({"keep": "longest", "exact": {"text_key": {"strip_punctuation": True}}}, "dedup")
    expected = spark.createDataFrame(
        # "Hello   World" (13 characters, kept as written) is the longest of the three equal keys
        [("a", None, None, None), ("b", "dedup", "dedup:exact", "a"), ("c", "dedup", "dedup:exact", "a"),
         ("d", "langid", "langid:low_score", None), ("e", None, None, None)],
        "id string, stage string, reason string, duplicate_of string",
    )  # fmt: skip
    assertDataFrameEqual(result_rows(spark, conf), expected)


def test_same_result_for_any_partitioning(spark: Any) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    one = apply_exact_dedup(frame.coalesce(1), DedupConfig())
    many = apply_exact_dedup(frame.repartition(5), DedupConfig())
    assertDataFrameEqual(one, many)
