"""Stage ``ingest``: WET files → one row per record, one Spark task per input file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from udfs.config import PipelineConfig
from udfs.errors import InputError
from udfs.ingest import (
    DOC_COLUMNS,
    FILE_COLUMNS,
    INGEST_COLUMNS,
    KIND_DOC,
    KIND_FILE,
    Scoring,
    ddl,
    ingest_batches,
)
from udfs.sources import S3Settings
from udfs.warc import ReaderLimits

STAGE = "ingest"
REASON_DUPLICATE_ID = "ingest:duplicate_record_id"


@dataclass(frozen=True)
class FileReport:
    """What ingest learned about one input file (the manifest's ``inputs`` entries)."""

    path: str
    status: str
    error: str | None
    records_read: int
    warcinfo_records: int
    skipped: dict[str, int]
    bytes_decompressed: int
    s3_attempts: int
    s3_retries: int


def s3_settings(conf: PipelineConfig) -> S3Settings:
    s3 = conf.s3
    return S3Settings(
        endpoint_url=s3.endpoint_url,
        region=s3.region,
        max_attempts=s3.max_attempts,
        backoff_base_seconds=s3.backoff_base_seconds,
        backoff_max_seconds=s3.backoff_max_seconds,
        connect_timeout_seconds=s3.connect_timeout_seconds,
        read_timeout_seconds=s3.read_timeout_seconds,
        anonymous=s3.anonymous,
    )


def ingest_frame(
    spark: SparkSession, indexed_files: list[tuple[int, str]], conf: PipelineConfig, scoring: Scoring | None = None
) -> DataFrame:
    """Document rows and one ``_kind='file'`` status row per file, streamed from ``(file_index, path)`` pairs;
    with ``scoring``, each batch also gets the per-document stages' columns in the same Python worker."""
    settings = s3_settings(conf)
    limits = ReaderLimits(conf.ingest.max_record_bytes, conf.ingest.max_invalid_utf8_ratio)
    batch_size = conf.ingest.batch_size

    def read(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return ingest_batches(batches, settings, limits, batch_size, scoring)

    # One task per file (a CC WET file is ~400 MB of text), but no more tasks than a few per core: thousands of tiny
    # files then share tasks instead of paying a task's fixed cost each.
    tasks = min(len(indexed_files), 4 * spark.sparkContext.defaultParallelism)
    paths = spark.sparkContext.parallelize(indexed_files, max(1, tasks))
    paths_frame = spark.createDataFrame(paths, "file_index bigint, path string")
    return paths_frame.mapInArrow(read, ddl(INGEST_COLUMNS) if scoring is None else scoring.ddl())


def read_wet_files(spark: SparkSession, files: list[str], conf: PipelineConfig) -> tuple[DataFrame, list[FileReport]]:
    """Ingest ``files`` as one frame (persisted): for the training jobs and tests that want the documents in
    memory. The pipeline itself reads shard by shard (``jobs/sharded.py``)."""
    ingested = ingest_frame(spark, list(enumerate(files)), conf).persist(StorageLevel.MEMORY_AND_DISK_DESER)

    # One row per input file, not data-sized: collecting it is how the manifest lists inputs.
    status_rows = (
        ingested.filter(F.col("_kind") == KIND_FILE)
        .select("source_file", *FILE_COLUMNS)
        .orderBy("file_index")
        .collect()
    )
    reports = [
        FileReport(
            path=row["source_file"],
            status=row["file_status"],
            error=row["file_error"],
            records_read=int(row["file_documents"]),
            warcinfo_records=int(row["file_warcinfo"]),
            skipped=json.loads(row["file_skipped"] or "{}"),
            bytes_decompressed=int(row["file_bytes"]),
            s3_attempts=int(row["file_attempts"]),
            s3_retries=int(row["file_retries"]),
        )
        for row in status_rows
    ]
    documents = ingested.filter(F.col("_kind") == KIND_DOC).select(*DOC_COLUMNS)
    return reject_duplicate_ids(documents, conf.ingest.max_broadcast_duplicates), reports


def reject_duplicate_ids(documents: DataFrame, max_broadcast: int = 1_000_000) -> DataFrame:
    """``WARC-Record-ID`` must be unique: later copies of an id (by file, then offset) are rejected.

    Ids key every later join (dedup clusters, ``duplicate_of``), so a repeated id would merge unrelated documents.
    Live records win over already-rejected ones, so a truncated copy never shadows a good one.

    Only the record keys are shuffled to find the copies; the (few) copies found are then broadcast back onto the
    documents, so the text never crosses the network here. Above ``max_broadcast`` copies (the same crawl given
    twice, say) they are joined back with an ordinary shuffle join instead.
    """
    keys = documents.select("id", "source_file", "record_offset", F.col("reason").isNotNull().alias("_rejected"))
    order = Window.partitionBy("id").orderBy("_rejected", "source_file", "record_offset")
    copies = (
        keys.withColumn("_copy", F.row_number().over(order))
        .filter((F.col("_copy") > 1) & ~F.col("_rejected"))
        .select("id", "source_file", "record_offset", F.lit(True).alias("_duplicate"))
        .localCheckpoint(eager=True)
    )
    if copies.count() <= max_broadcast:
        copies = F.broadcast(copies)
    marked = documents.join(copies, on=["id", "source_file", "record_offset"], how="left")
    duplicate = F.col("_duplicate").isNotNull()
    return marked.select(
        *[c for c in DOC_COLUMNS if c not in ("stage", "reason")],
        F.when(duplicate, F.lit(STAGE)).otherwise(F.col("stage")).alias("stage"),
        F.when(duplicate, F.lit(REASON_DUPLICATE_ID)).otherwise(F.col("reason")).alias("reason"),
    )


def read_parquet_documents(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Start from Parquet documents (an earlier run's ``documents/``, or any table with ``id`` and ``text``).

    Every row starts alive (``stage``/``reason`` reset). A table not written by cc-refinery gets ``source_file``
    from the Parquet file a row came from, so per-file accounting still works.
    """
    frame = spark.read.parquet(*paths)
    missing = [c for c in ("id", "text") if c not in frame.columns]
    if missing:
        raise InputError(
            f"--input {', '.join(paths)}: Parquet input needs columns id and text; missing {', '.join(missing)} "
            f"(found: {', '.join(frame.columns)})"
        )
    if "source_file" not in frame.columns:
        frame = frame.withColumn("source_file", F.input_file_name())
    return frame.withColumn("stage", F.lit(None).cast("string")).withColumn("reason", F.lit(None).cast("string"))


def as_dict(report: FileReport) -> dict[str, Any]:
    return dict(report.__dict__)
