"""Dedup keys, computed in each shard's streaming pass so the global dedup never reads text.

A live document gets, next to its text:

- ``_text_length`` (int): what the ``longest`` keep policy compares;
- ``_exact_key`` (32 bytes): SHA-256 of the text normalized per ``dedup.exact.text_key``;
- ``_bands`` (``bands`` × int64): its LSH bucket hashes, and ``_sketch`` (at most ``verify_sketch_size`` × uint32,
  packed): the smallest distinct shingle hashes, which stand in for the text when candidate pairs are verified.

Together with ``id``, ``date``, ``lang``, the quality score and the row's address (``file_index``,
``record_offset``) that is at most ~2.2 KB a document (less for short ones) against ~5 KB of text, and the global
phase reads the sketches only of documents in candidate pairs: it reads these columns of the staged Parquet
(column pruning), never the text, whatever the size of the crawl.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, BinaryType, LongType, StructField, StructType

from jobs.stages.dedup import text_key
from udfs.dedup.config import DedupConfig

KEY_COLUMNS = ("_text_length", "_exact_key", "_bands", "_sketch")


def add_dedup_keys(frame: DataFrame, conf: DedupConfig) -> DataFrame:
    """``frame`` with the key columns filled for live rows (null for rejected ones)."""
    live = F.col("reason").isNull()
    frame = frame.withColumn("_text_length", F.when(live, F.length("text")).cast("int"))
    exact = text_key(conf.exact.text_key) if conf.exact.enabled else F.lit(None)
    frame = frame.withColumn("_exact_key", F.when(live, exact).cast("binary"))
    if not conf.near.enabled:
        return frame.withColumn("_bands", F.lit(None).cast("array<bigint>")).withColumn(
            "_sketch", F.lit(None).cast("binary")
        )
    return _with_band_keys(frame, conf)


def _with_band_keys(frame: DataFrame, conf: DedupConfig) -> DataFrame:
    """``_bands`` and ``_sketch`` of live rows, one ``mapInPandas`` pass over the shard."""
    from udfs.dedup.minhash import batch_band_hashes

    near = conf.near
    has_lang = near.lang_column in frame.columns
    schema = StructType(
        [f for f in frame.schema.fields if f.name not in ("_bands", "_sketch")]
        + [StructField("_bands", ArrayType(LongType()), True), StructField("_sketch", BinaryType(), True)]
    )

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            bands = np.full(len(batch), None, dtype=object)
            sketches = np.full(len(batch), None, dtype=object)
            live = np.flatnonzero(batch["reason"].isna().to_numpy())
            if len(live):
                rows = batch.iloc[live]
                langs = rows[near.lang_column] if has_lang else None
                result = batch_band_hashes(rows["text"], langs, near, sketch_size=near.verify_sketch_size)
                for position, row in enumerate(live):
                    if result.has_shingles[position]:
                        bands[row] = result.hashes[position]
                        sketches[row] = result.sketches[position]
            yield batch.assign(_bands=bands, _sketch=sketches)

    return frame.mapInPandas(run, schema)
