"""Writing a run: ``documents/``, ``rejected/``, the funnel counts and ``_manifest.json``.

Counts come from the written data with ``groupBy().agg()`` (never accumulators, which retries may double), and are
checked against what ingest read per file: ``records read = kept + rejected`` for every input and in total.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from udfs.config import STAGES, PipelineConfig


@dataclass
class RunCounts:
    """Per file and per stage/reason counts of a finished frame (small: files × reasons rows)."""

    by_file: dict[str, dict[str, int]] = field(default_factory=dict)
    by_reason: dict[tuple[str, str], int] = field(default_factory=dict)
    kept: int = 0
    rejected: int = 0


def count_outcomes(frame: DataFrame) -> RunCounts:
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


def funnel(total: int, counts: RunCounts, stages_run: list[str]) -> list[dict[str, Any]]:
    """Per stage, in fixed order: documents in, kept, rejected by reason."""
    table = []
    alive = total
    for stage in STAGES:
        reasons = {reason: n for (s, reason), n in sorted(counts.by_reason.items()) if s == stage}
        if (stage not in stages_run or stage == "report") and not reasons:
            continue  # the report reads the output; it filters nothing
        rejected = sum(reasons.values())
        table.append({"stage": stage, "in": alive, "kept": alive - rejected, "rejected": rejected, "reasons": reasons})
        alive -= rejected
    return table


def write_frames(frame: DataFrame, output: str, conf: PipelineConfig) -> None:
    """Kept documents to ``documents/`` (partitioned by language), the rest to ``rejected/`` (by stage).

    An empty part still gets a readable folder (a schema-only file), so readers never fail on a run that kept or
    rejected nothing.
    """
    out = conf.output
    kept = frame.filter(F.col("reason").isNull()).drop("stage", "reason")
    rejected = frame.filter(F.col("reason").isNotNull())
    if not out.rejected_text:
        rejected = rejected.drop("text")
    for part, data, partition_by in (
        ("documents", kept, out.documents_partition_by),
        ("rejected", rejected, out.rejected_partition_by),
    ):
        write_part(data, f"{output.rstrip('/')}/{part}", partition_by, out.compression)


def write_part(
    data: DataFrame, path: str, partition_by: tuple[str, ...], compression: str, allow_empty: bool = True
) -> None:
    """Write ``data`` to ``path`` (replacing it), partitioned by those of ``partition_by`` it has.

    With ``allow_empty`` an empty frame still gets a readable folder (a schema-only file): partitioning an empty
    frame writes no file at all, so it is then written unpartitioned. Without it (one shard's part of a larger
    output, where an unpartitioned folder would clash with its partitioned siblings) nothing is checked first.
    """
    columns = [c for c in partition_by if c in data.columns]
    writer = data.write.mode("overwrite").option("compression", compression)
    if columns and allow_empty and data.isEmpty():
        columns = []
    if columns:
        writer = writer.partitionBy(*columns)
    writer.parquet(path)


def local_path(path: str) -> str | None:
    """The local filesystem path of ``path`` (plain or ``file://``), or None for a remote one (s3://, gs://, hdfs://)."""
    if path.startswith("file://"):
        return path[len("file://") :]
    return None if "://" in path else path


def hadoop_filesystem(spark: SparkSession, path: str) -> tuple[Any, Any]:
    """(Hadoop FileSystem, Hadoop Path) for a remote ``path``: EMRFS, the GCS connector, HDFS."""
    hadoop_path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Write a small text file to any filesystem Spark can write to (local, HDFS, EMRFS s3://, gs://)."""
    local = local_path(path)
    if local is not None:
        os.makedirs(os.path.dirname(local) or ".", exist_ok=True)
        with open(local, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    fs, hadoop_path = hadoop_filesystem(spark, path)
    stream = fs.create(hadoop_path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def remove_tree(spark: SparkSession, path: str) -> None:
    """Delete a folder or a file (scratch data, a staged shard, a marker) on any filesystem Spark can write to;
    missing is fine."""
    local = local_path(path)
    if local is not None:
        if os.path.isdir(local):
            shutil.rmtree(local, ignore_errors=True)
        elif os.path.lexists(local):
            os.remove(local)
        return
    fs, hadoop_path = hadoop_filesystem(spark, path)
    if fs.exists(hadoop_path):
        fs.delete(hadoop_path, True)


def list_names(spark: SparkSession, path: str) -> list[str]:
    """Names of the entries of a folder (empty when it does not exist)."""
    local = local_path(path)
    if local is not None:
        return sorted(os.listdir(local)) if os.path.isdir(local) else []
    fs, hadoop_path = hadoop_filesystem(spark, path)
    if not fs.exists(hadoop_path):
        return []
    return sorted(status.getPath().getName() for status in fs.listStatus(hadoop_path))


def read_text(spark: SparkSession, path: str) -> str | None:
    """A small text file from any filesystem Spark can read, or None when it does not exist."""
    local = local_path(path)
    if local is not None:
        if not os.path.exists(local):
            return None
        with open(local, encoding="utf-8") as handle:
            return handle.read()
    fs, hadoop_path = hadoop_filesystem(spark, path)
    if not fs.exists(hadoop_path):
        return None
    stream = fs.open(hadoop_path)
    try:
        jvm = spark.sparkContext._jvm
        reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
        lines = []
        line = reader.readLine()
        while line is not None:
            lines.append(line)
            line = reader.readLine()
        return "\n".join(lines)
    finally:
        stream.close()


def copy_from_local(spark: SparkSession, local_file: str, target: str) -> None:
    """Copy a local file to ``target`` on any filesystem Spark can write to, overwriting."""
    local = local_path(target)
    if local is not None:
        os.makedirs(os.path.dirname(local) or ".", exist_ok=True)
        shutil.copyfile(local_file, local)
        return
    hadoop_copy_from_local(spark, local_file, target)


def hadoop_copy_from_local(spark: SparkSession, local_file: str, target: str) -> None:
    """Copy through the Hadoop FileSystem of ``target``'s scheme, overwriting (tested with ``file://``)."""
    fs, hadoop_path = hadoop_filesystem(spark, target)
    fs.copyFromLocalFile(False, True, spark.sparkContext._jvm.org.apache.hadoop.fs.Path(local_file), hadoop_path)


def read_outcomes(spark: SparkSession, output: str) -> DataFrame:
    """(source_file, stage, reason) of every written row, kept and rejected, read back from the output."""
    null = F.lit(None).cast("string")
    kept = spark.read.parquet(f"{output}/documents").select("source_file", null.alias("stage"), null.alias("reason"))
    rejected = spark.read.parquet(f"{output}/rejected").select("source_file", "stage", "reason")
    return kept.unionByName(rejected)


def write_manifest(spark: SparkSession, output: str, manifest: dict[str, Any]) -> str:
    path = f"{output.rstrip('/')}/_manifest.json"
    write_text(spark, path, json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n")
    return path
