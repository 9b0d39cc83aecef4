"""The shared stage plumbing: batch functions run on live rows only; drops keep the first reason."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from jobs.stages.common import first_reason, map_live_rows, tag_rejects

pytestmark = pytest.mark.spark

SCHEMA = "id string, text string, stage string, reason string"
ROWS = [("a", "hello", None, None), ("b", "dropped", "ingest", "ingest:x"), ("c", "world!", None, None)]


def test_map_live_rows_skips_rejected_rows_and_types_new_columns(spark: Any) -> None:
    seen: list[str] = []

    def upper(batch: pd.DataFrame) -> pd.DataFrame:
        seen.extend(batch["id"])
        return pd.DataFrame({"text": batch["text"].str.upper(), "n_chars": batch["text"].str.len()})

    frame = spark.createDataFrame(ROWS, SCHEMA).coalesce(1)
    result = map_live_rows(frame, upper, {"text": "string", "n_chars": "bigint"})
    expected = spark.createDataFrame(
        [("a", "HELLO", None, None, 5), ("b", "dropped", "ingest", "ingest:x", None), ("c", "WORLD!", None, None, 6)],
        SCHEMA + ", n_chars bigint",
    )
    assertDataFrameEqual(result, expected)


def test_tag_rejects_keeps_earlier_reasons(spark: Any) -> None:
    frame = spark.createDataFrame(ROWS, SCHEMA)
    reason = first_reason([(F.length("text") < 6, "len:short"), (F.col("text").contains("!"), "punct:bang")])
    result = tag_rejects(frame, "quality", reason)
    expected = spark.createDataFrame(
        [("a", "hello", "quality", "len:short"), ("b", "dropped", "ingest", "ingest:x"),
         ("c", "world!", "quality", "punct:bang")],
        SCHEMA,
    )  # fmt: skip
    assertDataFrameEqual(result, expected)
