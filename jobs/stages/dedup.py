"""Stage ``dedup``: exact, paragraph-level (CCNet-style, optional) and MinHash-LSH near-duplicate removal.

Every removed copy keeps its row, with ``stage='dedup'``, a reason (``dedup:exact``, ``dedup:near``,
``dedup:paragraphs_empty``) and ``duplicate_of`` = the id of the copy that was kept, so each removal can be
audited. Only live rows (``reason IS NULL``) take part; rejected rows pass through untouched.

Nothing data-sized reaches the driver: LSH buckets become star edges (member → bucket minimum) with an aggregate,
clusters are connected components computed with large-star / small-star rounds (Kiveris et al., "Connected
Components in MapReduce and Beyond", SoCC 2014) on the edge DataFrame, checkpointed every few rounds, and the copy
kept per cluster is chosen with an aggregate (``min`` of a sort-key struct) or a window for keep-k.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from jobs.stages.common import map_live_rows
from udfs.dedup.config import DedupConfig, NearDedupConfig, TextKeyConfig
from udfs.dedup.minhash import batch_band_hashes, exact_keys, pair_jaccard
from udfs.errors import ConfigError

STAGE = "dedup"
REASON_EXACT = "dedup:exact"
REASON_NEAR = "dedup:near"
REASON_PARAGRAPHS_EMPTY = "dedup:paragraphs_empty"
INDEX_SETTINGS_FILE = "_settings.json"  # leading underscore: Spark's Parquet reader skips it
INDEX_SCHEMA = "id string, band int, bucket bigint, date string, text_length int, quality double"

LOG = logging.getLogger("cc_refinery.dedup")


# ---------------------------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------------------------


def normalized_text(column: Column, config: TextKeyConfig) -> Column:
    """``column`` normalized per ``config`` with Spark column functions."""
    text = column
    if config.lowercase:
        text = F.lower(text)
    if config.strip_punctuation:
        text = F.regexp_replace(text, r"[\p{P}\p{S}]", "")
    if config.strip_digits:
        text = F.regexp_replace(text, r"\p{N}", "")
    if config.collapse_whitespace:
        text = F.trim(F.regexp_replace(text, r"\s+", " "))
    return text


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
    """A struct that sorts ascending from the copy to keep to the last one, over :func:`ranking_columns`.

    ``first``: earliest date (missing last), then smallest id. ``longest``: longest text first. ``quality``: highest
    score first (missing last). Ties always end on the id, so the choice never depends on partitioning.
    """
    fields: list[Column] = []
    if prefer is not None:
        fields.append(prefer.alias("p"))
    if conf.keep == "quality":
        fields += [F.col("quality").isNull().alias("q0"), (-F.col("quality")).alias("q1")]
    if conf.keep == "longest":
        fields.append((-F.col("text_length")).alias("l"))
    fields += [F.col("date").isNull().alias("d0"), F.col("date").alias("d1"), F.col("id").alias("id")]
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
    normalized = normalized_text(F.col("line"), settings.text_key)
    keyed = lines.withColumn(
        "_key",
        F.when(
            (F.length(normalized) > 0) & (F.length(normalized) >= settings.min_chars),
            F.unhex(F.sha2(normalized, 256)),
        ),
    ).filter(F.col("_key").isNotNull())
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
    has_lang = near.lang_column in live.columns
    lang = F.col(near.lang_column).cast("string") if has_lang else F.lit(None).cast("string")
    bands, _ = near.lsh_params()

    def run(batches: Any) -> Any:
        for batch in batches:
            result = batch_band_hashes(batch["text"], batch["lang"] if has_lang else None, near)
            keep = result.has_shingles
            ids = batch["id"].to_numpy()[keep]
            yield pd.DataFrame(
                {
                    "id": np.repeat(ids, bands),
                    "band": np.tile(np.arange(bands, dtype=np.int32), len(ids)),
                    "bucket": result.hashes[keep].reshape(-1),
                }
            )

    return live.select("id", "text", lang.alias("lang")).mapInPandas(run, "id string, band int, bucket bigint")


def star_edges(bands: DataFrame) -> DataFrame:
    """Candidate pairs as star edges (member → smallest id of each shared bucket), never a list of members."""
    roots = (
        bands.groupBy("band", "bucket")
        .agg(F.min("id").alias("root"), F.count(F.lit(1)).alias("size"))
        .filter(F.col("size") > 1)
        .drop("size")
    )
    return (
        bands.join(roots, on=["band", "bucket"])
        .filter(F.col("id") != F.col("root"))
        .select(F.col("id").alias("src"), F.col("root").alias("dst"))
        .distinct()
    )


def verify_edges(edges: DataFrame, live: DataFrame, near: NearDedupConfig) -> DataFrame:
    """Drop edges between two live documents whose true shingle Jaccard is below the threshold.

    Edges that reach a document of the band index (no text here) are kept on the LSH evidence alone.
    """
    cutoff = near.verify_threshold if near.verify_threshold is not None else near.threshold
    has_lang = near.lang_column in live.columns
    lang = F.col(near.lang_column).cast("string") if has_lang else F.lit(None).cast("string")
    texts = live.select("id", "text", lang.alias("lang"))
    pairs = edges.join(
        texts.select(F.col("id").alias("src"), F.col("text").alias("src_text"), "lang"), on="src", how="left"
    ).join(texts.select(F.col("id").alias("dst"), F.col("text").alias("dst_text")), on="dst", how="left")

    def run(batches: Any) -> Any:
        for batch in batches:
            known = (batch["src_text"].notna() & batch["dst_text"].notna()).to_numpy()
            keep = ~known
            if known.any():
                part = batch.loc[known]
                similarity = pair_jaccard(part["src_text"], part["dst_text"], part["lang"] if has_lang else None, near)
                keep[np.flatnonzero(known)] = similarity >= cutoff
            yield batch.loc[keep, ["src", "dst"]]

    return pairs.select("src", "dst", "src_text", "dst_text", "lang").mapInPandas(run, "src string, dst string")


def _fingerprint(edges: DataFrame) -> tuple[int, Any]:
    row = edges.agg(F.count(F.lit(1)).alias("n"), F.sum(F.xxhash64("u", "v").cast("decimal(38,0)")).alias("h")).first()
    return int(row["n"]), row["h"]


def _large_star(edges: DataFrame) -> DataFrame:
    """Each node links its larger neighbours to the smallest node of its closed neighbourhood."""
    both = edges.select(F.col("u").alias("x"), F.col("v").alias("y")).unionByName(
        edges.select(F.col("v").alias("x"), F.col("u").alias("y"))
    )
    smallest = both.groupBy("x").agg(F.least(F.min("y"), F.col("x")).alias("m"))
    return (
        both.join(smallest, on="x")
        .filter(F.col("y") > F.col("x"))
        .select(F.col("y").alias("u"), F.col("m").alias("v"))
        .distinct()
    )


def _small_star(edges: DataFrame) -> DataFrame:
    """Each node links itself and its smaller neighbours to the smallest of them (edges are u > v)."""
    smallest = edges.groupBy("u").agg(F.min("v").alias("m"))
    linked = edges.join(smallest, on="u").select(F.col("v").alias("u"), F.col("m").alias("v"))
    return linked.unionByName(smallest.select("u", F.col("m").alias("v"))).filter(F.col("u") != F.col("v")).distinct()


def connected_components(
    edges: DataFrame, max_iterations: int = 40, checkpoint_every: int = 3, work_dir: str | None = None
) -> DataFrame:
    """(id, component) for every node of ``edges`` (src, dst); ``component`` is the smallest id of its component.

    Alternates large-star and small-star until the edge set stops changing (it is then a set of stars around each
    component's minimum). A round's plan uses the previous edges several times, so the lineage is cut every round:
    a reliable checkpoint under ``work_dir`` every ``checkpoint_every`` rounds (``1`` = every round, for clusters
    that lose executors), a local checkpoint in between (cheap, but lost with its executor).
    """
    spark = edges.sparkSession
    if work_dir is not None:
        spark.sparkContext.setCheckpointDir(f"{work_dir.rstrip('/')}/dedup-checkpoints")
    current = (
        edges.select(F.greatest("src", "dst").alias("u"), F.least("src", "dst").alias("v"))
        .filter(F.col("u") != F.col("v"))
        .distinct()
        .localCheckpoint(eager=True)
    )
    previous_fingerprint = _fingerprint(current)
    converged = False
    for round_number in range(1, max_iterations + 1):
        following = _small_star(_large_star(current))
        if work_dir is not None and round_number % checkpoint_every == 0:
            following = following.checkpoint(eager=True)
        else:
            following = following.localCheckpoint(eager=True)
        fingerprint = _fingerprint(following)
        current = following
        if fingerprint == previous_fingerprint:
            converged = True
            LOG.info("connected components converged after %d rounds (%d edges)", round_number, fingerprint[0])
            break
        previous_fingerprint = fingerprint
    if not converged:
        LOG.warning("connected components not converged after %d rounds; clusters may be split", max_iterations)
    leaves = current.groupBy("u").agg(F.min("v").alias("component")).select(F.col("u").alias("id"), "component")
    roots = current.select(F.col("v").alias("id"), F.col("v").alias("component"))
    return leaves.unionByName(roots).groupBy("id").agg(F.min("component").alias("component"))


def index_settings(near: NearDedupConfig) -> dict[str, Any]:
    """What decides a document's band hashes: runs sharing an index must agree on all of it."""
    bands, rows = near.lsh_params()
    return {
        "seed": near.seed,
        "num_perm": near.num_perm,
        "bands": bands,
        "rows": rows,
        "text_key": dataclasses.asdict(near.text_key),
        "shingle": dataclasses.asdict(near.shingle),
    }


def check_index_settings(spark: Any, near: NearDedupConfig) -> None:
    """Refuse an index built with other hashing settings: its buckets would never match this run's."""
    from jobs.filesystem import read_text, write_text

    path = f"{near.index_path.rstrip('/')}/{INDEX_SETTINGS_FILE}"
    wanted = json.loads(json.dumps(index_settings(near)))  # tuples → lists, as they come back from the file
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
    from udfs.dedup.minhash import sketch_similarity

    cutoff = near.verify_threshold if near.verify_threshold is not None else near.threshold
    size = near.verify_sketch_size
    pairs = edges.join(
        sketches.select(F.col("id").alias("src"), F.col("_sketch").alias("src_sig")), on="src", how="left"
    ).join(sketches.select(F.col("id").alias("dst"), F.col("_sketch").alias("dst_sig")), on="dst", how="left")

    def run(batches: Any) -> Any:
        for batch in batches:
            similarity = sketch_similarity(batch["src_sig"].tolist(), batch["dst_sig"].tolist(), size)
            keep = np.isnan(similarity) | (similarity >= cutoff)
            yield batch.loc[keep, ["src", "dst"]]

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
