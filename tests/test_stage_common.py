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


@pytest.mark.parametrize("max_broadcast", [1_000_000, 0])  # broadcast join, and the shuffle join beyond the limit
def test_later_copies_of_a_record_id_are_rejected(spark: Any, max_broadcast: int) -> None:
    from jobs.stages.ingest import reject_duplicate_ids
    from udfs.ingest import DOC_COLUMNS

    def doc(record_id: str, source: str, offset: int, reason: str | None = None) -> dict[str, Any]:
        row: dict[str, Any] = dict.fromkeys(DOC_COLUMNS)
        row |= {"id": record_id, "text": f"{source}@{offset}", "source_file": source, "record_offset": offset}
        return row | ({"stage": "ingest", "reason": reason} if reason else {})

    schema = ", ".join(f"{name} {kind}" for name, kind in DOC_COLUMNS.items())
    rows = [
        doc("x", "b.wet", 0),
        doc("x", "a.wet", 500),  # first by file name: kept
        doc("x", "a.wet", 900),
        doc("y", "a.wet", 10, "ingest:truncated_record"),  # a rejected copy never shadows a good one
        doc("y", "b.wet", 20),
        doc("z", "a.wet", 30),
    ]
    frame = spark.createDataFrame([tuple(r.values()) for r in rows], schema)
    result = reject_duplicate_ids(frame, max_broadcast).select("text", "reason")
    expected = spark.createDataFrame(
        [("b.wet@0", "ingest:duplicate_record_id"), ("a.wet@500", None), ("a.wet@900", "ingest:duplicate_record_id"),
         ("a.wet@10", "ingest:truncated_record"), ("b.wet@20", None), ("a.wet@30", None)],
        "text string, reason string",
    )  # fmt: skip
    assertDataFrameEqual(result, expected)
