"""Accounting of a written run: kept and rejected counts per input file and per (stage, reason), and the funnel.

Counts come from the written data with ``groupBy().agg()`` (never accumulators, which retries may double), and are
checked against what ingest read per file: ``records read = kept + rejected`` for every input and in total. The
funnel made of these counts (stage by stage: in, kept, rejected by reason) is :func:`udfs.report.stage_funnel_rows`,
the one definition the manifest, the console summary and the report share.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


@dataclass
class RunCounts:
    """Per file and per stage/reason counts of a finished frame (small: files × reasons rows)."""

    by_file: dict[str, dict[str, int]] = field(default_factory=dict)
    by_reason: dict[tuple[str, str], int] = field(default_factory=dict)
    kept: int = 0
    rejected: int = 0


def count_outcomes(frame: DataFrame) -> RunCounts:
    """:class:`RunCounts` of ``frame`` (``source_file``, ``stage``, ``reason``), one aggregate reaching the driver."""
    rows = frame.groupBy("source_file", "stage", "reason").agg(F.count(F.lit(1)).alias("n")).collect()
    counts = RunCounts()
    by_file: dict[str, dict[str, int]] = defaultdict(lambda: {"kept": 0, "rejected": 0})
    by_reason: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        n = int(row["n"])
        if row["reason"] is None:
            by_file[row["source_file"]]["kept"] += n
            counts.kept += n
        else:
            by_file[row["source_file"]]["rejected"] += n
            by_reason[(row["stage"], row["reason"])] += n
            counts.rejected += n
    counts.by_file = dict(by_file)
    counts.by_reason = dict(by_reason)
    return counts


def read_outcomes(spark: Any, output: str) -> DataFrame:
    """(source_file, stage, reason) of every written row, kept and rejected, read back from the output."""
    null = F.lit(None).cast("string")
    kept = spark.read.parquet(f"{output}/documents").select("source_file", null.alias("stage"), null.alias("reason"))
    rejected = spark.read.parquet(f"{output}/rejected").select("source_file", "stage", "reason")
    return kept.unionByName(rejected)

