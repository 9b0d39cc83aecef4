"""Dedup keys, computed in each shard's streaming pass so the global dedup never reads text.

A live document gets, next to its text:

- ``_text_length`` (int): what the ``longest`` keep policy compares;
- ``_exact_key`` (32 bytes): SHA-256 of the text normalized per ``dedup.exact.text_key`` (``exact_keys``);
- ``_bands`` (``bands`` × int64): its LSH bucket hashes, and ``_sketch`` (at most ``verify_sketch_size`` × uint32,
  packed): the smallest distinct shingle hashes, which stand in for the text when candidate pairs are verified.

Together with ``id``, ``date``, ``lang``, the quality score and the row's address (``file_index``,
``record_offset``) that is at most ~2.2 KB a document (less for short ones) against ~5 KB of text. The global
phase reads only these columns of the staged Parquet (column pruning), never the text, and the sketches only go
through the join with the candidate pairs.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from udfs.dedup.config import DedupConfig


def add_dedup_keys(frame: DataFrame, conf: DedupConfig) -> DataFrame:
    """``frame`` (with ``_bands``/``_sketch`` from ``udfs.document_pass`` when near dedup is on) with every key
    column filled for live rows and null for rejected ones."""
    live = F.col("reason").isNull()
    # The pass computed the keys of the rows that its pandas forms of the stage rules keep (udfs.document_pass); a
    # row these Spark rules keep must be one of them, or dedup would silently pass it over.
    if "_text_length" in frame.columns:
        missing = F.raise_error(F.lit("dedup keys missing for a live row: the pass's rules disagree with the "
                                      "stages' (udfs/document_pass.py)"))
        frame = frame.withColumn("_text_length", F.when(live & F.col("_text_length").isNull(), missing)
                                 .otherwise(F.col("_text_length")))
    # Only what a disabled part of dedup leaves out is null.
    for name, kind in (("_text_length", "int"), ("_exact_key", "binary"), ("_bands", "array<bigint>"),
                       ("_sketch", "binary")):
        value = F.col(name) if name in frame.columns else F.lit(None)
        frame = frame.withColumn(name, F.when(live, value).cast(kind))
    return frame
