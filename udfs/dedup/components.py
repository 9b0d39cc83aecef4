"""Connected components of the near-duplicate graph, distributed: large-star / small-star rounds on Spark.

Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC 2014): alternate large-star and small-star
until the edge set is a set of stars, each around its component's smallest id (a round would not change it). The
graph of a crawl has hundreds of millions of edges, so every step is a join or an aggregate over an edge DataFrame
and nothing but two values per round (edge count, and whether the edges are stars yet) reaches the driver. This is
the one module of ``udfs/`` built on Spark DataFrames rather than pandas batches: the algorithm is its distribution
(a per-node pandas function via ``applyInPandas`` would ship every edge to Python every round, for the same joins).
"""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

LOG = logging.getLogger("cc_refinery.dedup")


def star_edges(bands: DataFrame) -> DataFrame:
    """Candidate pairs as star edges (member → smallest id of each shared bucket), never a list of members."""
    # Bucket first: the aggregate (min of a string id) and the join sort their rows, and a sort compares keys by a
    # prefix of the first one. The bucket hash decides nearly every comparison there; the band (a few values) none.
    roots = (
        bands.groupBy("bucket", "band")
        .agg(F.min("id").alias("root"), F.count(F.lit(1)).alias("size"))
        .filter(F.col("size") > 1)
        .drop("size")
    )
    return (
        bands.join(roots, on=["bucket", "band"])
        .filter(F.col("id") != F.col("root"))
        .select(F.col("id").alias("src"), F.col("root").alias("dst"))
        .distinct()
    )


def _star_forest(edges: DataFrame) -> tuple[int, bool]:
    """(edge count, whether the edges (u > v) are a set of stars: no node is both a leaf and a centre, and no leaf
    has two centres). Such an edge set is a fixed point of a large-star + small-star round (each leaf's smallest
    neighbour is its centre, each centre is smaller than its leaves), so the rounds can stop without running one
    more to see nothing change."""
    leaves = edges.select(F.col("u").alias("node"), F.lit(1).alias("leaf_of"), F.lit(False).alias("centre"))
    centres = edges.select(F.col("v").alias("node"), F.lit(0).alias("leaf_of"), F.lit(True).alias("centre"))
    roles = leaves.unionByName(centres)
    per_node = roles.groupBy("node").agg(F.sum("leaf_of").alias("leaf_of"), F.max("centre").alias("centre"))
    not_star = (F.col("leaf_of") > 1) | ((F.col("leaf_of") > 0) & F.col("centre"))
    row = per_node.agg(F.coalesce(F.sum("leaf_of"), F.lit(0)).alias("n"),
                       F.coalesce(F.max(not_star), F.lit(False)).alias("not_star")).first()
    return int(row["n"]), not row["not_star"]


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

    Alternates large-star and small-star until the edge set is a set of stars around each component's minimum (a
    round would then leave it unchanged: see :func:`_star_forest`; an input that is one already needs no round).
    A round's plan uses the previous edges several times, so the lineage is cut every round: a reliable checkpoint
    under ``work_dir`` every ``checkpoint_every`` rounds (``1`` = every round, for clusters that lose executors), a
    local checkpoint in between (cheap, but lost with its executor).
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
    edge_count, converged = _star_forest(current)
    rounds = 0
    while not converged and rounds < max_iterations:
        rounds += 1
        following = _small_star(_large_star(current))
        if work_dir is not None and rounds % checkpoint_every == 0:
            following = following.checkpoint(eager=True)
        else:
            following = following.localCheckpoint(eager=True)
        current = following
        edge_count, converged = _star_forest(current)
    if converged:
        LOG.info("connected components converged after %d rounds (%d edges)", rounds, edge_count)
    if not converged:
        LOG.warning("connected components not converged after %d rounds; clusters may be split", max_iterations)
    leaves = current.groupBy("u").agg(F.min("v").alias("component")).select(F.col("u").alias("id"), "component")
    roots = current.select(F.col("v").alias("id"), F.col("v").alias("component"))
    return leaves.unionByName(roots).groupBy("id").agg(F.min("component").alias("component"))
