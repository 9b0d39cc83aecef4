"""Accounting of a written run: kept and rejected counts per input file and per (stage, reason), the per-file table
``stats/files.parquet`` (with the reader's byte accounting) and the run's totals, and the funnel.

Counts come from the written data with ``groupBy().agg()`` (never accumulators, which retries may double), and are
checked against what ingest read per file: ``records read = kept + rejected`` for every input and in total. The
funnel made of these counts (stage by stage: in, kept, rejected by reason) is :func:`udfs.report.stage_funnel_rows`,
the one definition the manifest, the console summary and the report share.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.runstate import STAGE_DIR
from udfs.warc import NO_WET_RECORDS


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


@dataclass
class RunSummary:
    """What the manifest says of a finished run, computed from the written output (never from accumulators)."""

    counts: RunCounts
    """Kept, rejected and rejected by (stage, reason); ``by_file`` stays empty (that is ``stats/files.parquet``)."""
    records_read: int
    inputs: int
    failed_inputs: int
    unaccounted_inputs: int
    listed_inputs: list[dict[str, Any]]
    stats_path: str
    no_wet_inputs: int = 0
    """Inputs that held no WET conversion record (garbage, empty, a WARC or WAT file): read, but nothing in them."""


def summarize(spark: SparkSession, output: str, max_listed: int) -> RunSummary:
    """Per-file accounting written to ``stats/files.parquet`` and the run's totals, with only aggregates (and at
    most ``max_listed`` per-file rows) reaching the driver."""
    output = output.rstrip("/")
    files = spark.read.parquet(f"{output}/{STAGE_DIR}/files")
    documents = spark.read.parquet(f"{output}/documents")
    rejected = spark.read.parquet(f"{output}/rejected")
    outcomes = documents.select("file_index", F.lit(1).alias("_kept")).unionByName(
        rejected.select("file_index", F.lit(0).alias("_kept"))
    )
    per_file = outcomes.groupBy("file_index").agg(
        F.sum("_kept").cast("bigint").alias("kept"), F.sum(1 - F.col("_kept")).cast("bigint").alias("rejected")
    )
    table = (
        files.join(per_file, "file_index", "left")
        .select(
            "file_index",
            F.col("source_file").alias("path"),
            F.col("file_status").alias("status"),
            F.col("file_error").alias("error"),
            F.col("file_documents").alias("records_read"),
            F.col("file_warcinfo").alias("warcinfo_records"),
            F.col("file_skipped").alias("skipped"),
            F.col("file_bytes").alias("bytes_decompressed"),
            F.col("file_attempts").alias("s3_attempts"),
            F.col("file_retries").alias("s3_retries"),
            F.col("file_records_framed").alias("records_framed"),
            F.col("file_records_skipped").alias("records_skipped"),
            F.col("file_bytes_in_rows").alias("bytes_in_rows"),
            F.col("file_bytes_outside_rows").alias("bytes_outside_rows"),
            F.col("file_compressed_bytes").alias("bytes_compressed_read"),
            F.col("file_compressed_size").alias("bytes_compressed_size"),
            F.col("file_bytes_accounted").alias("bytes_accounted"),
            F.coalesce("kept", F.lit(0)).alias("kept"),
            F.coalesce("rejected", F.lit(0)).alias("rejected"),
        )
        # Rows written = rows the reader produced, per file; the reader's own byte check (every decompressed byte
        # in one row or outside rows, every framed record a row or skipped, a file read to its last raw byte) is
        # ``bytes_accounted`` (null for a file that could not be read).
        .withColumn("accounted", (F.col("records_read") == F.col("kept") + F.col("rejected"))
                    & F.coalesce(F.col("bytes_accounted"), F.lit(True)))
    )
    stats_path = f"{output}/stats/files.parquet"
    table.orderBy("file_index").write.mode("overwrite").parquet(stats_path)
    stats = spark.read.parquet(stats_path)
    totals = stats.agg(
        F.count(F.lit(1)).alias("inputs"),
        F.coalesce(F.sum("records_read"), F.lit(0)).alias("read"),
        F.count(F.when(F.col("status") == "failed", 1)).alias("failed"),
        F.count(F.when(F.col("status") == NO_WET_RECORDS, 1)).alias("no_wet"),
        F.count(F.when(~F.col("accounted"), 1)).alias("unaccounted"),
    ).first()
    by_reason_rows = rejected.groupBy("stage", "reason").agg(F.count(F.lit(1)).alias("n")).collect()
    counts = RunCounts(
        by_reason={(r["stage"], r["reason"]): int(r["n"]) for r in by_reason_rows},
        kept=int(documents.count()),
        rejected=sum(int(r["n"]) for r in by_reason_rows),
    )
    listed = stats if int(totals["inputs"]) <= max_listed else stats.where(F.col("status") != "ok")
    rows = listed.orderBy("file_index").limit(max_listed).collect()
    inputs = []
    for row in rows:
        entry = row.asDict()
        entry.pop("file_index")
        entry["skipped"] = json.loads(entry["skipped"] or "{}")
        inputs.append(entry)
    return RunSummary(counts, int(totals["read"]), int(totals["inputs"]), int(totals["failed"]),
                      int(totals["unaccounted"]), inputs, stats_path, int(totals["no_wet"]))
