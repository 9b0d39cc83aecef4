"""Stage ``dedup``: exact, paragraph-level (CCNet-style, optional) and MinHash-LSH near-duplicate removal.

Every removed copy keeps its row, with ``stage='dedup'``, a reason (``dedup:exact``, ``dedup:near``,
``dedup:paragraphs_empty``) and ``duplicate_of`` = the id of the copy that was kept, so each removal can be
audited. Only live rows (``reason IS NULL``) take part; rejected rows pass through untouched.

The algorithms live in ``udfs/dedup/``: text normalization, exact and paragraph keys, shingles, MinHash, LSH bands
and pair verification as pandas batch functions (``minhash.py``), the keep policy (``keep.py``) and the distributed
connected components (``components.py``). What stays here is Spark wiring, and the removal tables: which copies go
is a group-by over the whole crawl's keys (``min`` of the keep-order struct per hash or component, a window for
keep-k) and joins back to the rows — aggregates and joins, inherently Spark, never collected to the driver.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.stages.common import map_live_rows
from udfs.dedup.components import connected_components, star_edges
from udfs.dedup.config import DedupConfig, NearDedupConfig
from udfs.dedup.keep import keep_order
from udfs.dedup.minhash import band_rows as band_rows_of_batch
from udfs.dedup.minhash import exact_keys, paragraph_keys, verified_sketch_pairs, verified_text_pairs
from udfs.errors import ConfigError

STAGE = "dedup"
REASON_EXACT = "dedup:exact"
REASON_NEAR = "dedup:near"
REASON_PARAGRAPHS_EMPTY = "dedup:paragraphs_empty"
INDEX_SETTINGS_FILE = "_settings.json"  # leading underscore: Spark's Parquet reader skips it
INDEX_SCHEMA = "id string, band int, bucket bigint, date string, text_length int, quality double"


# ---------------------------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------------------------


def ranking_columns(frame: DataFrame, conf: DedupConfig, text_length: Column | None = None) -> list[Column]:
    """What the keep policy needs of a document, under fixed names (also what the band index stores).

    ``text_length`` defaults to the length of ``text``; the sharded pipeline passes the length it stored with the
    keys, as its global phase has no text."""
    quality = (
        F.col(conf.quality_column).cast("double")
        if conf.keep == "quality" and conf.quality_column in frame.columns
        else F.lit(None).cast("double")
    )
    date = F.col("date").cast("string") if "date" in frame.columns else F.lit(None).cast("string")
    return [
        F.col("id"),
        date.alias("date"),
        (F.length("text") if text_length is None else text_length).cast("int").alias("text_length"),
        quality.alias("quality"),
    ]


def keep_key(conf: DedupConfig, prefer: Column | None = None) -> Column:
    """:func:`udfs.dedup.keep.keep_order` as a struct that sorts ascending from the copy to keep to the last one,
    over :func:`ranking_columns` (``min`` of it is an aggregate, so a million copies of a page do not sink a task).
    ``prefer`` (false first) comes before the policy: the band index's documents always win."""
    fields: list[Column] = []
    if prefer is not None:
        fields.append(prefer.alias("p"))
    for number, field in enumerate(keep_order(conf)):
        if field.missing_last:
            fields.append(F.col(field.column).isNull().alias(f"m{number}"))
        value = -F.col(field.column) if field.descending else F.col(field.column)
        fields.append(value.alias(field.column if field.column == "id" else f"k{number}"))
    return F.struct(*fields)


def split_live(frame: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(live rows, rejected rows). Rejected rows are kept out of every shuffle: their null keys would skew it."""
    return frame.filter(F.col("reason").isNull()), frame.filter(F.col("reason").isNotNull())


def with_duplicate_of(frame: DataFrame) -> DataFrame:
    if "duplicate_of" in frame.columns:
        return frame
    return frame.withColumn("duplicate_of", F.lit(None).cast("string"))


def mark_removed(live: DataFrame, removed: DataFrame, reason: str) -> DataFrame:
    """Tag the live rows listed in ``removed`` (id, _dup_of) with ``reason`` and their ``duplicate_of``."""
    columns = live.columns
    joined = live.join(removed, on="id", how="left")
    hit = F.col("_dup_of").isNotNull()
    return joined.select(
        *[
            F.when(hit, F.lit(STAGE)).otherwise(F.col("stage")).alias("stage")
            if c == "stage"
            else F.when(hit, F.lit(reason)).otherwise(F.col("reason")).alias("reason")
            if c == "reason"
            else F.when(hit, F.col("_dup_of")).otherwise(F.col("duplicate_of")).alias("duplicate_of")
            if c == "duplicate_of"
            else F.col(c)
            for c in columns
        ]
    )


# ---------------------------------------------------------------------------------------------------------------
# Exact dedup
# ---------------------------------------------------------------------------------------------------------------


def apply_exact_dedup(df: DataFrame, conf: DedupConfig) -> DataFrame:
    """Keep one live document per hash of normalized text (chosen by ``conf.keep``); tag the others ``dedup:exact``."""
    frame = with_duplicate_of(df)
    live, rejected = split_live(frame)
    text_key_conf = conf.exact.text_key

    def key(batch: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"_key": exact_keys(batch["text"], text_key_conf)})

    # The key is the sharded pass's (udfs.dedup.minhash.exact_keys), so both paths call the same pages copies.
    hashed = map_live_rows(live, key, {"_key": "binary"})
    keyed = hashed.select(*ranking_columns(hashed, conf), "_key")
    return mark_removed(live, exact_removals(keyed, conf), REASON_EXACT).unionByName(rejected)


def exact_removals(keyed: DataFrame, conf: DedupConfig) -> DataFrame:
    """(id, _dup_of) of every copy but the one kept, from compact keys: :func:`ranking_columns` plus ``_key``."""
    # min of a struct is an aggregate: a million copies of one boilerplate page do not sink a task.
    best = keyed.groupBy("_key").agg(F.min(keep_key(conf)).alias("_best"))
    return (
        keyed.join(best, on="_key")
        .filter(F.col("id") != F.col("_best.id"))
        .select("id", F.col("_best.id").alias("_dup_of"))
    )


# ---------------------------------------------------------------------------------------------------------------
# Paragraph dedup (CCNet-style)
# ---------------------------------------------------------------------------------------------------------------


def apply_paragraph_dedup(df: DataFrame, conf: DedupConfig) -> DataFrame:
    """Remove paragraphs (lines) found in more than ``max_documents`` live documents from all of them.

    A document left without text is rejected as ``dedup:paragraphs_empty``; the others keep their remaining lines in
    order. Only documents that lose a line are rebuilt.
    """
    settings = conf.paragraphs
    frame = with_duplicate_of(df)
    live, rejected = split_live(frame)
    lines = live.select("id", F.posexplode(F.split(F.col("text"), "\n")).alias("pos", "line"))
    text_key, min_chars = settings.text_key, settings.min_chars

    def keys(batches: Any) -> Any:
        for batch in batches:
            yield paragraph_keys(batch, text_key, min_chars)

    # Keys from udfs.dedup.minhash (the one normalization of dedup); the grouping below is Spark's.
    keyed = lines.mapInPandas(keys, "id string, pos int, _key binary")
    frequent = (
        keyed.select("_key", "id").distinct().groupBy("_key").count().filter(F.col("count") > settings.max_documents)
    )
    removed_lines = keyed.join(frequent.select("_key"), on="_key", how="left_semi").select("id", "pos")
    affected = removed_lines.select("id").distinct()
    rebuilt = (
        lines.join(affected, on="id", how="left_semi")
        .join(removed_lines.withColumn("_gone", F.lit(True)), on=["id", "pos"], how="left")
        .groupBy("id")
        .agg(F.array_sort(F.collect_list(F.when(F.col("_gone").isNull(), F.struct("pos", "line")))).alias("_kept"))
        .select("id", F.array_join(F.transform("_kept", lambda item: item["line"]), "\n").alias("_new_text"))
    )
    joined = live.join(rebuilt, on="id", how="left")
    empty = F.col("_new_text").isNotNull() & (F.length(F.trim(F.col("_new_text"))) == 0)
    # A document left empty is rejected with its original text, so the audit shows what was there.
    new_text = F.when(empty, F.col("text")).otherwise(F.coalesce(F.col("_new_text"), F.col("text")))
    out = joined.select(
        *[
            new_text.alias("text")
            if c == "text"
            else F.when(empty, F.lit(STAGE)).otherwise(F.col("stage")).alias("stage")
            if c == "stage"
            else F.when(empty, F.lit(REASON_PARAGRAPHS_EMPTY)).otherwise(F.col("reason")).alias("reason")
            if c == "reason"
            else F.col(c)
            for c in live.columns
        ]
    )
    return out.unionByName(rejected)


# ---------------------------------------------------------------------------------------------------------------
# Near dedup: bands → edges → components → keep
# ---------------------------------------------------------------------------------------------------------------


def band_rows(live: DataFrame, near: NearDedupConfig) -> DataFrame:
    """(id, band, bucket) for every live document with at least one shingle, via ``mapInPandas``."""
    lang = F.col(near.lang_column).cast("string") if near.lang_column in live.columns else F.lit(None).cast("string")

    def run(batches: Any) -> Any:
        for batch in batches:
            yield band_rows_of_batch(batch, near)

    return live.select("id", "text", lang.alias("lang")).mapInPandas(run, "id string, band int, bucket bigint")


def verify_edges(edges: DataFrame, live: DataFrame, near: NearDedupConfig) -> DataFrame:
    """Drop edges between two live documents whose true shingle Jaccard is below the threshold.

    Edges that reach a document of the band index (no text here) are kept on the LSH evidence alone.
    """
    lang = F.col(near.lang_column).cast("string") if near.lang_column in live.columns else F.lit(None).cast("string")
    texts = live.select("id", "text", lang.alias("lang"))
    pairs = edges.join(
        texts.select(F.col("id").alias("src"), F.col("text").alias("src_text"), "lang"), on="src", how="left"
    ).join(texts.select(F.col("id").alias("dst"), F.col("text").alias("dst_text")), on="dst", how="left")

    def run(batches: Any) -> Any:
        for batch in batches:
            yield verified_text_pairs(batch, near)

    return pairs.select("src", "dst", "src_text", "dst_text", "lang").mapInPandas(run, "src string, dst string")


def check_index_settings(spark: Any, near: NearDedupConfig) -> None:
    """Refuse an index built with other hashing settings: its buckets would never match this run's."""
    from jobs.filesystem import read_text, write_text

    path = f"{near.index_path.rstrip('/')}/{INDEX_SETTINGS_FILE}"
    wanted = json.loads(json.dumps(near.index_settings()))  # tuples → lists, as they come back from the file
    stored = read_text(spark, path)
    if stored is None:
        write_text(spark, path, json.dumps(wanted, indent=2, sort_keys=True))
        return
    found = json.loads(stored)
    differing = sorted(k for k in set(wanted) | set(found) if wanted.get(k) != found.get(k))
    if differing:
        raise ConfigError(
            f"dedup.near.index_path: the index at {near.index_path} was built with other settings for "
            f"{', '.join(differing)} ({', '.join(f'{k}={found.get(k)!r}' for k in differing)}); use the same "
            "settings or a new index_path"
        )


def read_index(spark: Any, path: str) -> DataFrame | None:
    """The band index of earlier runs, or None when there is none yet."""
    try:
        return spark.read.schema(INDEX_SCHEMA).parquet(path)
    except Exception as exc:  # a missing folder: first run
        if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc).lower():
            return None
        raise


def apply_near_dedup(df: DataFrame, conf: DedupConfig, work_dir: str) -> DataFrame:
    """MinHash-LSH near-dedup of live documents; removed copies get ``dedup:near`` and ``duplicate_of``.

    With ``near.index_path`` set, documents are also matched against the band index of earlier runs (an indexed
    document always wins over a new one, and is never re-examined), and the band rows of the documents kept here are
    appended to the index.
    """
    near = conf.near
    frame = with_duplicate_of(df)
    live, rejected = split_live(frame)
    bands = band_rows(live, near).persist(StorageLevel.MEMORY_AND_DISK)
    ranking = live.select(*ranking_columns(live, conf))

    def verify(edges: DataFrame) -> DataFrame:
        return verify_edges(edges, live, near)

    removed = near_removals(bands, ranking, verify if near.verify else None, conf, work_dir)
    bands.unpersist()
    return mark_removed(live, removed, REASON_NEAR).unionByName(repoint_exact_copies(rejected, removed))


def near_removals(
    bands: DataFrame,
    ranking: DataFrame,
    verify: Callable[[DataFrame], DataFrame] | None,
    conf: DedupConfig,
    work_dir: str | None,
) -> DataFrame:
    """(id, _dup_of) of the near copies to remove, from compact keys only.

    ``bands`` holds (id, band, bucket) and ``ranking`` the :func:`ranking_columns` of every live document; ``verify``
    drops false candidate edges (src, dst). The result is checkpointed, so the caller may read it several times.
    """
    near = conf.near
    spark = bands.sparkSession
    candidates = bands.select("id", "band", "bucket")
    old_ranking = None
    index = None
    if near.index_path:
        check_index_settings(spark, near)
        index = read_index(spark, near.index_path)
    if index is not None:
        # Only index rows sharing a bucket with this run matter; rows of a document being re-processed are ignored.
        relevant = index.join(bands.select("band", "bucket").distinct(), on=["band", "bucket"], how="left_semi").join(
            ranking.select("id"), on="id", how="left_anti"
        )
        candidates = candidates.unionByName(relevant.select("id", "band", "bucket"))
        old_ranking = relevant.groupBy("id").agg(*[F.min(c).alias(c) for c in ("date", "text_length", "quality")])

    edges = star_edges(candidates)
    if verify is not None:
        edges = verify(edges)
    components = connected_components(edges, near.max_iterations, near.checkpoint_every, work_dir)

    members = ranking.withColumn("_old", F.lit(False))
    if old_ranking is not None:
        members = members.unionByName(old_ranking.withColumn("_old", F.lit(True)))
    # Indexed documents sort first: a new document never displaces one kept by an earlier run.
    ranked = components.join(members, on="id").withColumn("_key", keep_key(conf, prefer=~F.col("_old")))
    if conf.keep_per_cluster == 1:
        best = ranked.groupBy("component").agg(F.min("_key").alias("_best"))
        removed = (
            ranked.join(best, on="component")
            .filter(~F.col("_old") & (F.col("id") != F.col("_best.id")))
            .select("id", F.col("_best.id").alias("_dup_of"))
        )
    else:
        order = Window.partitionBy("component").orderBy("_key")
        removed = (
            ranked.withColumn("_rank", F.row_number().over(order))
            .withColumn("_first", F.first("id").over(order))
            .filter(~F.col("_old") & (F.col("_rank") > conf.keep_per_cluster))
            .select("id", F.col("_first").alias("_dup_of"))
        )
    removed = removed.checkpoint(eager=True) if work_dir else removed.localCheckpoint(eager=True)

    if near.index_path:
        survivors = bands.join(removed, on="id", how="left_anti").join(ranking, on="id")
        if index is not None:  # a crawl processed again: its documents are indexed already
            survivors = survivors.join(index.select("id").distinct(), on="id", how="left_anti")
        survivors.select(*[c.split(" ")[0] for c in INDEX_SCHEMA.split(", ")]).write.mode("append").parquet(
            near.index_path
        )
    return removed


def verify_edges_by_sketch(edges: DataFrame, sketches: DataFrame, near: NearDedupConfig) -> DataFrame:
    """Drop edges whose two documents' bottom-k sketches (``id``, ``_sketch``) give a Jaccard below the threshold.

    The text-free check of the sharded pipeline: exact for documents of up to ``verify_sketch_size`` shingles, an
    estimate within ``sqrt(J(1-J)/k)`` above. Edges that reach a document of the band index (no sketch here) are
    kept on the LSH evidence alone, as in :func:`verify_edges`.
    """
    pairs = edges.join(
        sketches.select(F.col("id").alias("src"), F.col("_sketch").alias("src_sig")), on="src", how="left"
    ).join(sketches.select(F.col("id").alias("dst"), F.col("_sketch").alias("dst_sig")), on="dst", how="left")

    def run(batches: Any) -> Any:
        for batch in batches:
            yield verified_sketch_pairs(batch, near)

    return pairs.select("src", "dst", "src_sig", "dst_sig").mapInPandas(run, "src string, dst string")


def repoint_exact_copies(rejected: DataFrame, removed: DataFrame) -> DataFrame:
    """Exact copies whose kept document was then removed as a near duplicate point on to that one's keeper."""
    exact = rejected.filter(F.col("reason") == REASON_EXACT)
    others = rejected.filter(F.col("reason") != REASON_EXACT)
    hop = removed.select(F.col("id").alias("_via"), F.col("_dup_of").alias("_next"))
    repointed = exact.join(hop, exact["duplicate_of"] == hop["_via"], "left").select(
        *[F.coalesce("_next", "duplicate_of").alias(c) if c == "duplicate_of" else F.col(c) for c in exact.columns]
    )
    return others.unionByName(repointed)


def apply(frame: DataFrame, context: Any) -> DataFrame:
    """Pipeline hook: exact → paragraphs → near, as enabled in ``dedup.*``."""
    conf: DedupConfig = context.conf.dedup
    frame = with_duplicate_of(frame)
    if conf.near.enabled or conf.paragraphs.enabled:
        # Near dedup reads the live rows several times; do not recompute the upstream stages for each.
        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    if conf.exact.enabled:
        frame = apply_exact_dedup(frame, conf)
    if conf.paragraphs.enabled:
        frame = apply_paragraph_dedup(frame, conf)
    if conf.near.enabled:
        frame = apply_near_dedup(frame, conf, context.work_dir)
    return frame
