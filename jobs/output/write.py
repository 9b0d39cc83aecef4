"""Writing the data of a run: ``documents/`` (kept) and ``rejected/`` (every dropped record with its reason).

The output policy lives here: kept rows lose ``stage``/``reason``, rejected rows lose ``text`` unless
``output.rejected_text``, each part is partitioned by the conf's columns, and an empty part of a one-pass run still
gets a readable, schema-only folder. A sharded run writes each shard's parts with :func:`write_part` and commits
them with a marker (``jobs/sharded.py``).
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from udfs.config import PipelineConfig


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
    # Parquet tries a dictionary for every column chunk and gives up once it outgrows a page: on page texts (never
    # repeated, the bulk of every file) that is a hash of each text, then a re-encode, for nothing (5-10 % of the
    # JVM's profile samples in the writes). Other columns keep theirs (lang, reason, domain, category repeat).
    writer = writer.option("parquet.enable.dictionary#text", "false")
    if columns and allow_empty and data.isEmpty():
        columns = []
    if columns:
        writer = writer.partitionBy(*columns)
    writer.parquet(path)


def read_written(spark: Any, output: str) -> DataFrame:
    """Every row a run wrote, kept and rejected, as one frame (``stage``/``reason`` null for kept documents; columns
    only one part has are null in the other): what the stages over the written output read."""
    output = output.rstrip("/")
    documents = spark.read.parquet(f"{output}/documents")
    rejected = spark.read.parquet(f"{output}/rejected")
    null = F.lit(None).cast("string")
    documents = documents.select("*", *[null.alias(c) for c in ("stage", "reason") if c not in documents.columns])
    # A part that wrote no row is a schema-only folder named shard=empty, so its partition column is a string where
    # the other part's is a number (and Spark's ANSI casts refuse "empty"): a column typed differently on the two
    # sides is read as a string on both.
    types = dict(rejected.dtypes)
    clash = {name for name, kind in documents.dtypes if name in types and types[name] != kind}

    def aligned(frame: DataFrame) -> DataFrame:
        return frame.select(*[F.col(c).cast("string").alias(c) if c in clash else F.col(c) for c in frame.columns])

    return aligned(documents).unionByName(aligned(rejected), allowMissingColumns=True)
