"""Stage ``ingest``: WET files → one row per record, one Spark task per input file.

Local, ``s3://`` and ``http(s)://`` files are streamed by the Python workers (``udfs/sources.py``). Files on a Hadoop
filesystem (``gs://``, ``hdfs://``, ``abfs://``, ``s3a://``, ``file://``, whatever connectors the cluster has) are
one code path: listed on the driver with Hadoop's FileSystem API through Spark's JVM, read by Spark's ``binaryFile``
source (Python workers have no JVM to call), and parsed by the same reader from the bytes Spark hands over.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from py4j.protocol import Py4JError
from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.filesystem import local_path
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
    ingest_content_batches,
)
from udfs.sources import S3Settings, SourceSettings, is_hadoop, is_wet_name, resolve_inputs
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


def source_settings(conf: PipelineConfig) -> SourceSettings:
    """What the executors need to stream ``s3://`` and ``http(s)://`` files."""
    return SourceSettings(s3=s3_settings(conf), http=conf.http)


# --------------------------------------------------------------------------------------------------------------
# Hadoop filesystems, through Spark's JVM on the driver.
# --------------------------------------------------------------------------------------------------------------


def _launch_settings(conf: PipelineConfig) -> Any:
    """The SparkConf the job's session will be built with (``Job.session``), for a JVM started before it: settings
    read only at JVM start (driver memory, ``spark.jars.packages`` for a connector) must already be there."""
    from pyspark import SparkConf

    from jobs.base import launched_by_spark_submit

    settings = SparkConf()
    if not launched_by_spark_submit() and conf.spark.master:
        settings.setMaster(conf.spark.master)
    from jobs.jvm_archive import driver_settings

    return settings.setAll(list(driver_settings(conf).items()))


class SparkHadoopFiles:
    """Lists and reads Hadoop filesystem paths on the driver (``udfs.sources.HadoopFiles``).

    Inputs are resolved before the job's SparkContext exists, so without one this starts Spark's JVM (the gateway
    only, with the job's Spark settings; under spark-submit it is already running) and builds the Hadoop
    configuration the SparkContext would have (``spark.hadoop.*``, the cluster's ``core-site.xml``). The
    SparkContext started next reuses that JVM. With a SparkContext, its Hadoop configuration is used.
    """

    def __init__(self, conf: PipelineConfig) -> None:
        self.conf = conf

    @functools.cached_property
    def _jvm_and_configuration(self) -> tuple[Any, Any]:
        from pyspark import SparkContext

        active = SparkContext._active_spark_context
        if active is not None:
            return active._jvm, active._jsc.hadoopConfiguration()
        SparkContext._ensure_initialized(conf=_launch_settings(self.conf))
        jvm = SparkContext._jvm
        spark_conf = jvm.org.apache.spark.SparkConf(True)  # spark.* as spark-submit and the launch set them
        return jvm, jvm.org.apache.spark.deploy.SparkHadoopUtil.get().newConfiguration(spark_conf)

    def _filesystem(self, spec: str) -> tuple[Any, Any]:
        from py4j.protocol import Py4JJavaError

        jvm, configuration = self._jvm_and_configuration
        path = jvm.org.apache.hadoop.fs.Path(spec)
        try:
            return path.getFileSystem(configuration), path
        except Py4JJavaError as exc:  # e.g. UnsupportedFileSystemException: No FileSystem for scheme "gs"
            raise InputError(
                f"input {spec!r}: {_java_message(exc)} (a Hadoop connector for this scheme must be on the Spark "
                "classpath and configured: GCS connector for gs://, hadoop-aws for s3a://, hadoop-azure for abfs://)"
            ) from exc

    def list_wet(self, spec: str) -> list[str]:
        from py4j.protocol import Py4JJavaError

        filesystem, path = self._filesystem(spec)
        try:
            exists = filesystem.exists(path)  # a name with brackets is itself before it is a pattern
            if not exists and any(c in spec for c in "*?[{"):
                return self._glob_files(filesystem, path)
            if not exists:
                raise InputError(f"input path does not exist: {spec}")
            status = filesystem.getFileStatus(path)
            if status.isFile():
                return [status.getPath().toString()]
            return sorted(p for p in self._files_below(filesystem, path) if is_wet_name(p.rsplit("/", 1)[-1]))
        except Py4JJavaError as exc:
            raise InputError(f"input {spec!r}: listing failed: {_java_message(exc)}") from exc

    # A py4j call costs 0.1-2 ms, so a listing of a crawl (90,000 files) crosses from the JVM as one string (the
    # statuses' toString, "FileStatus{path=…; isDirectory=…; …}" since Hadoop 2), not one call per file. The number
    # parsed is checked against the JVM's count; on any mismatch the listing is walked one call per file instead.

    def _parse_statuses(self, text: str, expected: int) -> list[tuple[str, bool]] | None:
        found = [(m.group(1), m.group(2) == "true") for m in _STATUS_TEXT.finditer(text)]
        return found if len(found) == expected else None

    def _files_below(self, filesystem: Any, path: Any) -> list[str]:
        """Every file under a directory, recursively."""
        jvm, _ = self._jvm_and_configuration
        try:
            statuses = jvm.org.apache.hadoop.util.functional.RemoteIterators.toList(filesystem.listFiles(path, True))
            parsed = self._parse_statuses(statuses.toString(), statuses.size())
        except Py4JError:  # Hadoop before 3.3 has no RemoteIterators
            parsed = None
        if parsed is not None:
            return [p for p, is_directory in parsed if not is_directory]
        files = []
        listing = filesystem.listFiles(path, True)
        while listing.hasNext():
            files.append(listing.next().getPath().toString())
        return files

    def _glob_files(self, filesystem: Any, pattern: Any) -> list[str]:
        """The files a glob matches (matched directories are not expanded, as with a local glob)."""
        jvm, _ = self._jvm_and_configuration
        matches = filesystem.globStatus(pattern)
        if matches is None:
            return []
        parsed = self._parse_statuses(jvm.org.apache.commons.lang3.ArrayUtils.toString(matches), len(matches))
        if parsed is None:
            parsed = [(m.getPath().toString(), m.isDirectory()) for m in matches]
        return sorted(p for p, is_directory in parsed if not is_directory)

    def exists(self, path: str) -> bool:
        filesystem, hadoop_path = self._filesystem(path)
        return bool(filesystem.exists(hadoop_path))

    def read_bytes(self, path: str) -> bytes:
        from py4j.protocol import Py4JJavaError

        filesystem, hadoop_path = self._filesystem(path)
        jvm, _ = self._jvm_and_configuration
        try:
            if not filesystem.exists(hadoop_path):
                raise InputError(f"manifest does not exist: {path}")
            stream = filesystem.open(hadoop_path)
            try:
                return bytes(jvm.org.apache.commons.io.IOUtils.toByteArray(stream))  # one transfer, not per byte
            finally:
                stream.close()
        except Py4JJavaError as exc:
            raise InputError(f"manifest {path!r}: reading failed: {_java_message(exc)}") from exc


_STATUS_TEXT = re.compile(r"path=(.*?); isDirectory=(true|false)")


def _java_message(exc: Any) -> str:
    java = exc.java_exception
    return f"{java.getClass().getSimpleName()}: {java.getMessage()}"


def resolve_wet_inputs(specs: list[str], conf: PipelineConfig) -> list[str]:
    """``--input`` specs → the sorted, de-duplicated list of WET files, with every source the conf configures."""
    return resolve_inputs(specs, source_settings(conf), conf.input.manifest_base, SparkHadoopFiles(conf))


_HADOOP_GLOB = re.compile(r"([\\*?\[\]{}])")


def _literal_hadoop_path(path: str) -> str:
    """Escape Hadoop glob characters so Spark reads a file named ``a[1].wet.gz`` as itself."""
    return _HADOOP_GLOB.sub(r"\\\1", path)


# --------------------------------------------------------------------------------------------------------------
# The ingest frame
# --------------------------------------------------------------------------------------------------------------


def ingest_frame(
    spark: SparkSession, indexed_files: list[tuple[int, str]], conf: PipelineConfig, scoring: Scoring | None = None
) -> DataFrame:
    """Document rows and one ``_kind='file'`` status row per file, streamed from ``(file_index, path)`` pairs;
    with ``scoring``, each batch also gets the per-document stages' columns in the same Python worker."""
    settings = source_settings(conf)
    limits = ReaderLimits(conf.ingest.max_record_bytes, conf.ingest.max_invalid_utf8_ratio)
    batch_size = conf.ingest.batch_size
    schema = ddl(INGEST_COLUMNS) if scoring is None else scoring.ddl()
    streamed = [(index, path) for index, path in indexed_files if not is_hadoop(path)]
    on_hadoop = {path: index for index, path in indexed_files if is_hadoop(path)}
    contents, present = _binary_files(spark, conf, on_hadoop) if on_hadoop else (None, {})
    # A Hadoop file that vanished (or a manifest line naming none) joins the streamed ones: opening it there fails,
    # so it is reported as a failed input like an S3 object that is gone, instead of failing the shard's job.
    streamed += [(index, path) for path, index in on_hadoop.items() if path not in present]
    frames = []
    if streamed or not on_hadoop:

        def read(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            return ingest_batches(batches, settings, limits, batch_size, scoring)

        tasks = read_tasks([path for _, path in streamed], spark.sparkContext.defaultParallelism,
                           conf.ingest.min_task_bytes)
        frames.append(file_list_frame(spark, streamed, tasks).mapInArrow(read, schema))
    if contents is not None:

        def read_contents(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            return ingest_content_batches(batches, present, limits, batch_size, scoring)

        frames.append(contents.select("path", "content").mapInArrow(read_contents, schema))
    return functools.reduce(DataFrame.unionByName, frames)


def read_tasks(paths: list[str], parallelism: int, min_task_bytes: int) -> int:
    """How many tasks stream ``paths``: one per file (a CC WET file is ~400 MB of text), except that thousands of
    tiny local files share tasks of about ``min_task_bytes`` instead of paying a task's fixed cost each; never fewer
    than 4 per core while there are files for them.

    Whole files are the unit of work, so the last wave of tasks leaves cores idle for up to one task's time: ten
    bench files in 8 tasks on 2 cores left one core idle for 1.7 s of a 9.5 s shard job, a 2-file task running last.
    """
    floor = 4 * parallelism
    if len(paths) <= floor:
        return max(1, len(paths))
    sizes = [_local_size(path) or min_task_bytes for path in paths]
    return min(len(paths), max(floor, -(-sum(sizes) // min_task_bytes)))


def _local_size(path: str) -> int | None:
    """The size of a local file, None for remote ones (or a local path that is not there: its task reports it)."""
    local = local_path(path)
    if local is None:
        return None
    try:
        return os.path.getsize(local)
    except OSError:
        return None


def file_list_frame(spark: SparkSession, indexed_files: list[tuple[int, str]], tasks: int) -> DataFrame:
    """``file_index bigint, path string``: one row per file, in order, in ``tasks`` contiguous partitions.

    Built in the JVM (a range and two constant JSON arrays) rather than from a Python RDD: converting an RDD of
    Python tuples needs a Python worker of its own beside the one reading the files, so every task held two.
    """
    if not indexed_files:
        return spark.createDataFrame([], "file_index bigint, path string")
    index_of = F.col("id").cast("int") + 1
    indexes = F.from_json(F.lit(json.dumps([index for index, _ in indexed_files])), "array<bigint>")
    paths = F.from_json(F.lit(json.dumps([path for _, path in indexed_files])), "array<string>")
    return spark.range(0, len(indexed_files), 1, tasks).select(
        F.element_at(indexes, index_of).alias("file_index"), F.element_at(paths, index_of).alias("path")
    )


def _binary_files(spark: SparkSession, conf: PipelineConfig,
                  files: dict[str, int]) -> tuple[DataFrame | None, dict[str, int]]:  # fmt: skip
    """Spark's ``binaryFile`` frame over the Hadoop files that exist, and those files.

    binaryFile never splits a file: a big file is one task; small ones are packed up to
    ``spark.sql.files.maxPartitionBytes``. The task's JVM holds the compressed bytes several times (file, row, Arrow
    batch), the Python worker once: a 176 MiB file needs ~1.5 GiB of heap (README, "Where inputs are read"); the
    text then streams out batch by batch.
    """
    from pyspark.errors import AnalysisException

    def load(paths: list[str]) -> DataFrame:
        return spark.read.format("binaryFile").load([_literal_hadoop_path(p) for p in paths])

    try:
        return load(list(files)), files
    except AnalysisException:  # a path that does not exist fails the whole load: find which (one call per file)
        hadoop = SparkHadoopFiles(conf)
        present = {path: index for path, index in files.items() if hadoop.exists(path)}
        if len(present) == len(files):
            raise
        return (load(list(present)) if present else None), present


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
