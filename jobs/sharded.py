"""The pipeline over WET inputs, in three resumable phases (see ``jobs/runstate.py`` for the output layout).

1. **shards** — the input files are cut into shards of ``run.files_per_shard``. Each shard goes through ingest →
   normalize → langid → quality (with the model-based filters) and the dedup keys in one streaming pass (one Spark
   task per file, nothing cached) and is written, rejected rows included, to ``_stage/shards/shard=N``, then
   committed with a marker.
2. **global** — on compact keys only (row address, id, hashes, signature, the keep-policy fields; never the text):
   repeated ``WARC-Record-ID``s, perplexity buckets whose cut-offs come from the data, exact dedup, MinHash-LSH near
   dedup (with the cross-crawl band index). The result is a removal table (address, stage, reason, duplicate_of),
   partitioned by shard and committed with a marker.
3. **finalize** — per shard: apply the removals, then PII and tokens/categories on the kept documents; write
   ``documents/shard=N`` and ``rejected/shard=N``; commit; drop the staged shard.

Then per-file stats (``stats/files.parquet``), the report and ``_manifest.json`` are computed from what was written.
Every phase skips what a marker says is done, so rerunning the same command after a crash resumes it.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from jobs.filesystem import OutputFiles, has_data_files, list_names, remove_tree
from jobs.output.write import write_part
from jobs.progress import Progress
from jobs.runstate import STAGE_DIR
from jobs.stages import dedup as dedup_stage
from jobs.stages.common import StageContext, first_reason
from jobs.stages.ingest import REASON_DUPLICATE_ID
from udfs.config import PipelineConfig
from udfs.ingest import FILE_COLUMNS, KIND_DOC, KIND_FILE

LOG = logging.getLogger("cc_refinery")

SHARD_STAGES = ("normalize", "langid", "quality")
"""Per-document stages run inside each shard's streaming pass (after ingest)."""
FILE_ROW = "_file_row"
"""Reason given to the per-file status rows while they ride along a shard's pass, so no stage treats them as live."""
ROW_ADDRESS = ["file_index", "record_offset"]
"""Unique per row even where record ids repeat: how removals find their rows."""
INTERNAL_COLUMNS = ("_kind", "_ingest_ok", "_text_length", "_exact_key", "_bands", "_sketch", "_perplexity_live",
                    "part")
REMOVALS_SCHEMA = (
    "shard int, file_index bigint, record_offset bigint, id string, stage string, reason string, duplicate_of string"
)


@dataclass(frozen=True)
class Shard:
    index: int
    files: list[tuple[int, str]]
    """(file_index, path): the index is the file's position in the whole run's input list."""

    @property
    def name(self) -> str:
        return f"{self.index:05d}"


def plan_shards(files: list[str], files_per_shard: int) -> list[Shard]:
    """Consecutive runs of ``files_per_shard`` files (the input order is sorted, so the plan is stable)."""
    indexed = list(enumerate(files))
    return [
        Shard(number, indexed[start : start + files_per_shard])
        for number, start in enumerate(range(0, len(indexed), files_per_shard))
    ]


@dataclass
class ShardedRun:
    spark: SparkSession
    conf: PipelineConfig
    stages: list[str]
    files: list[str]
    output: str
    shards: list[Shard] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.output = self.output.rstrip("/")
        self.store = OutputFiles(self.output, self.spark)
        self.stage_root = f"{self.output}/{STAGE_DIR}"
        self.work_dir = self.conf.spark.checkpoint_dir or f"{self.stage_root}/tmp"
        self.context = StageContext(self.spark, self.conf, self.output, self.work_dir, sharded=True)
        self.shards = plan_shards(self.files, self.conf.run.files_per_shard)
        self.global_marker: dict[str, Any] = {}
        self.phase_seconds: dict[str, float] = {}
        """Wall seconds of each phase in this attempt (skipped work counts ~0): the manifest's timeline."""
        self.schemas: dict[str, Any] = {}
        """Schema of the documents / rejected frames of a shard: for a schema-only file when a run writes none."""

    # -- helpers ------------------------------------------------------------------------------------------------
    def marker(self, name: str) -> dict[str, Any] | None:
        return self.store.read_json(f"{STAGE_DIR}/markers/{name}.json")

    def committed(self) -> set[str]:
        """Names of the markers written so far: one listing, not one read per shard (thousands on a crawl)."""
        return {name.removesuffix(".json") for name in list_names(self.spark, f"{self.stage_root}/markers")}

    def commit(self, name: str, value: dict[str, Any]) -> None:
        self.store.write_json(f"{STAGE_DIR}/markers/{name}.json", value)

    def describe(self, group: str, text: str) -> None:
        """Name the Spark jobs of this driver thread, so the Spark UI reads as the pipeline."""
        self.spark.sparkContext.setJobGroup(group, f"cc-refinery {text}", interruptOnCancel=False)

    def per_shard(self, phase: str, done_if: tuple[str, ...], steps: str,
                  work: Callable[[Shard], tuple[int, int]]) -> None:
        """Run ``work`` (→ records, bytes) on every shard that has none of the ``done_if`` markers yet,
        ``run.concurrent_shards`` at once from driver threads, with progress lines and named Spark job groups."""
        progress = Progress(phase, len(self.shards), len(self.files), self.conf.run.progress_seconds)
        done = self.committed()
        todo = []
        for shard in self.shards:
            if any(f"{prefix}-{shard.name}" in done for prefix in done_if):
                progress.skipped(len(shard.files))
            else:
                todo.append(shard)
        LOG.info("phase %s: %d of %d shard(s) to run", phase, len(todo), len(self.shards))

        def run(shard: Shard) -> None:
            self.describe(f"{phase}-{shard.name}", f"{phase}: shard {shard.index + 1}/{len(self.shards)} "
                                                   f"({len(shard.files)} files): {steps}")
            records, n_bytes = work(shard)
            progress.done(len(shard.files), records, n_bytes)

        with progress, ThreadPoolExecutor(max_workers=self.conf.run.concurrent_shards,
                                          thread_name_prefix=phase) as pool:
            for future in [pool.submit(run, shard) for shard in todo]:
                future.result()

    # -- the run ------------------------------------------------------------------------------------------------
    def run(self) -> None:
        for name, phase in (("shards", self.phase_shards), ("global", self.phase_global),
                            ("finalize", self.phase_finalize)):
            started = time.time()
            phase()
            self.phase_seconds[name] = round(time.time() - started, 2)
        remove_tree(self.spark, self.work_dir)

    # -- phase 1 ------------------------------------------------------------------------------------------------
    def phase_shards(self) -> None:
        def work(shard: Shard) -> tuple[int, int]:
            marker = self.run_shard(shard)
            return marker["records"], marker["bytes"]

        self.per_shard("shards", ("shard", "final"), f"ingest→{'→'.join(self.shard_stages())}", work)

    def shard_stages(self) -> list[str]:
        return [s for s in SHARD_STAGES if s in self.stages]

    def shard_frame(self, shard: Shard) -> DataFrame:
        """Every row of the shard's files, through the per-document stages, with dedup keys and a ``part``.

        The stages' Python work runs in the reading task itself (``udfs.document_pass``: one pass, text crosses to
        the JVM once); their drop rules are then applied here, in stage order, as Spark expressions over the scores.
        """
        from jobs.stages.ingest import ingest_frame
        from jobs.stages.keys import add_dedup_keys
        from udfs.document_pass import columns_by_stage
        from udfs.ingest import Scoring

        pass_stages = (*self.shard_stages(), *(s for s in ("dedup", "tokens") if s in self.stages))
        scoring = Scoring.of(pass_stages, self.conf)
        owned = columns_by_stage(pass_stages, self.conf)
        frame = ingest_frame(self.spark, shard.files, self.conf, scoring)
        frame = frame.withColumn("_ingest_ok", (F.col("_kind") == KIND_DOC) & F.col("reason").isNull())
        frame = frame.withColumn(
            "reason", F.when(F.col("_kind") == KIND_FILE, F.lit(FILE_ROW)).otherwise(F.col("reason"))
        )
        for stage in self.shard_stages():
            module = importlib.import_module(f"jobs.stages.{stage}")
            # Scores of rows an earlier stage dropped are nulled, as a stage never scores rows already dropped.
            own = [c for c in owned.get(stage, {}) if c != "text"]
            frame = frame.select(*[F.when(F.col("reason").isNull(), F.col(c)).alias(c) if c in own else F.col(c)
                                   for c in frame.columns])
            if stage in owned:  # (quality.enabled: false scores nothing and drops nothing)
                frame = module.decide(frame, self.context)
            if stage == "quality":
                from jobs.stages import model_quality

                frame = model_quality.apply(frame, self.context)
        if "dedup" in self.stages:
            frame = add_dedup_keys(frame, self.conf.dedup)
        part = (
            F.when(F.col("_kind") == KIND_FILE, F.lit("file"))
            .when(F.col("reason").isNull(), F.lit("live"))
            .otherwise(F.lit("rejected"))
        )
        return frame.withColumn("part", part)

    def run_shard(self, shard: Shard) -> dict[str, Any]:
        path = f"{self.stage_root}/shards/shard={shard.name}"
        remove_tree(self.spark, path)  # what a killed attempt left
        started = time.time()
        # Staged files are read once and deleted: no column gets a dictionary (scores and ids rarely repeat either).
        staged = self.shard_frame(shard).write.option("parquet.enable.dictionary", "false")
        staged.mode("overwrite").partitionBy("part").parquet(path)
        LOG.info("shard %s: streaming pass written in %.1f s", shard.name, time.time() - started)
        files = self.spark.read.parquet(f"{path}/part=file").select("source_file", *FILE_COLUMNS)
        stats_path = f"{self.stage_root}/files/shard={shard.name}"
        files.write.mode("overwrite").parquet(stats_path)
        totals = self.spark.read.parquet(stats_path).agg(
            F.count(F.lit(1)).alias("files"),
            F.coalesce(F.sum("file_documents"), F.lit(0)).alias("records"),
            F.coalesce(F.sum("file_bytes"), F.lit(0)).alias("bytes"),
        ).first()
        marker = {"files": int(totals["files"]), "records": int(totals["records"]), "bytes": int(totals["bytes"])}
        self.commit(f"shard-{shard.name}", marker)
        LOG.info("shard %s: committed after %.1f s", shard.name, time.time() - started)
        return marker

    # -- phase 2 ------------------------------------------------------------------------------------------------
    def phase_global(self) -> None:
        marker = self.marker("global")
        if marker is not None:
            LOG.info("phase global: committed by an earlier attempt, skipped")
            self.global_marker = marker
            return
        LOG.info("phase global: record ids, data-driven perplexity buckets, exact and near dedup on compact keys")
        self.describe("global", "global: dedup on compact keys")
        path = f"{self.stage_root}/removals"
        remove_tree(self.spark, path)
        removals, cutoffs = self.removals()
        removals.write.mode("overwrite").partitionBy("shard").parquet(path)
        by_shard = {} if not has_data_files(self.spark, path) else {
            int(row["shard"]): int(row["n"])
            for row in self.spark.read.parquet(path).groupBy("shard").agg(F.count(F.lit(1)).alias("n")).collect()
        }  # one row per shard
        self.global_marker = {"removals_by_shard": {str(k): v for k, v in sorted(by_shard.items())},
                              "perplexity_cutoffs": {k: list(v) for k, v in cutoffs.items()}}
        self.commit("global", self.global_marker)

    def staged_rows(self) -> DataFrame:
        return self.spark.read.parquet(f"{self.stage_root}/shards")

    def removals(self) -> tuple[DataFrame, dict[str, tuple[float, float]]]:
        """(removal table, perplexity cut-offs computed from the data) from the staged shards' key columns."""
        rows = self.staged_rows()
        address = ["shard", *ROW_ADDRESS, "id"]
        # 1. Repeated record ids: among the records ingest read well, the first (by file, then offset) keeps the id.
        order = Window.partitionBy("id").orderBy("source_file", "record_offset")
        duplicates = (
            rows.where(F.col("_ingest_ok"))
            .select(*address, "source_file")
            .withColumn("_copy", F.row_number().over(order))
            .where(F.col("_copy") > 1)
            .select(*address, F.lit("ingest").alias("stage"), F.lit(REASON_DUPLICATE_ID).alias("reason"),
                    F.lit(None).cast("string").alias("duplicate_of"))
            .localCheckpoint(eager=True)
        )
        parts = [duplicates]
        live = rows.where(F.col("part") == "live").join(duplicates.select(*ROW_ADDRESS), ROW_ADDRESS, "left_anti")
        cutoffs: dict[str, tuple[float, float]] = {}
        if "quality" in self.stages and "_perplexity_live" in rows.columns:
            scored = rows.where(F.col("_perplexity_live")).join(duplicates.select(*ROW_ADDRESS), ROW_ADDRESS,
                                                                 "left_anti")
            bucket_removals, cutoffs = self.perplexity_buckets(scored, address)
            if bucket_removals is not None:
                parts.append(bucket_removals)
                live = live.join(bucket_removals.select(*ROW_ADDRESS), ROW_ADDRESS, "left_anti")
        if "dedup" in self.stages:
            parts.append(self.dedup_removals(live, address))
        removals = parts[0]
        for part in parts[1:]:
            removals = removals.unionByName(part)
        return removals, cutoffs

    def perplexity_buckets(
        self, scored: DataFrame, address: list[str]
    ) -> tuple[DataFrame | None, dict[str, tuple[float, float]]]:
        """CCNet buckets for the languages whose cut-offs come from the data: percentiles over every shard's
        documents alive after the perplexity rules (one shard is not the corpus), then the bucket rules of conf.

        A bucket drop overrides a quality-classifier drop of the same document, as the perplexity rules come first.
        """
        from jobs.stages.model_quality import (
            bucket_column,
            compute_cutoffs,
            deferred_cutoffs,
            perplexity_conditions,
        )

        conf = self.conf.perplexity
        langs = deferred_cutoffs(conf)
        if not langs:
            return None, {}
        scored = scored.select(*address, "lang", "perplexity", F.lit(None).cast("string").alias("reason"))
        cutoffs = compute_cutoffs(scored, langs, conf)
        conditions = perplexity_conditions(conf, include_max=False)
        if not conditions:
            return None, cutoffs
        reason = first_reason(conditions)
        removed = (
            scored.withColumn("perplexity_bucket", bucket_column(cutoffs))
            .select(*address, F.lit("quality").alias("stage"), reason.alias("reason"),
                    F.lit(None).cast("string").alias("duplicate_of"))
            .where(F.col("reason").isNotNull())
            .localCheckpoint(eager=True)
        )
        return removed, cutoffs

    def dedup_removals(self, live: DataFrame, address: list[str]) -> DataFrame:
        """Exact, then near dedup over the live documents' keys; ``duplicate_of`` always names a kept document."""
        conf = self.conf.dedup
        # address = shard, row address, id; the ranking columns bring the id themselves.
        ranking = dedup_stage.ranking_columns(live, conf, F.col("_text_length"))
        keys = live.select(
            *[c for c in address if c != "id"], *ranking, F.col("_exact_key").alias("_key"), "_bands", "_sketch"
        ).persist(StorageLevel.MEMORY_AND_DISK)
        ranking_names = [c for c in keys.columns if c in ("id", "date", "text_length", "quality")]

        def located(removed: DataFrame, reason: str) -> DataFrame:
            return removed.join(keys.select(*address), "id").select(
                *address, F.lit("dedup").alias("stage"), F.lit(reason).alias("reason"),
                F.col("_dup_of").alias("duplicate_of"),
            )

        exact = None
        remaining = keys
        if conf.exact.enabled:
            hashed = keys.where(F.col("_key").isNotNull()).select(*ranking_names, "_key")
            removed = dedup_stage.exact_removals(hashed, conf)
            exact = located(removed, dedup_stage.REASON_EXACT).localCheckpoint(eager=True)
            remaining = keys.join(exact.select("id"), "id", "left_anti")
        if not conf.near.enabled:
            result = exact if exact is not None else keys.limit(0).select(*address, *_removal_fields())
            keys.unpersist()
            return result
        bands = (
            remaining.where(F.col("_bands").isNotNull())
            .select("id", F.posexplode("_bands").alias("band", "bucket"))
            .withColumn("band", F.col("band").cast("int"))
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        sketches = remaining.select("id", "_sketch")

        def verify(edges: DataFrame) -> DataFrame:
            return dedup_stage.verify_edges_by_sketch(edges, sketches, conf.near)

        removed = dedup_stage.near_removals(
            bands, remaining.select(*ranking_names), verify if conf.near.verify else None, conf, self.work_dir
        )
        near = located(removed, dedup_stage.REASON_NEAR)
        result = near if exact is None else near.unionByName(dedup_stage.repoint_exact_copies(exact, removed))
        result = result.localCheckpoint(eager=True)
        bands.unpersist()
        keys.unpersist()
        return result

    # -- phase 3 ------------------------------------------------------------------------------------------------
    def phase_finalize(self) -> None:
        def work(shard: Shard) -> tuple[int, int]:
            marker = self.finalize_shard(shard)
            return marker["documents"] + marker["rejected"], 0

        self.per_shard("finalize", ("final",), "removals→pii→tokens→write", work)
        self.ensure_readable()

    def shard_rows(self, shard: Shard, part: str) -> DataFrame:
        """The staged rows of ``part`` (``live`` / ``rejected``), empty when the shard has none."""
        path = f"{self.stage_root}/shards/shard={shard.name}"
        rows = self.spark.read.parquet(path).where(F.col("part") == part)
        return rows.drop(*[c for c in (*INTERNAL_COLUMNS, *FILE_COLUMNS) if c not in ROW_ADDRESS])

    def shard_removals(self, shard: Shard) -> DataFrame:
        count = int(self.global_marker.get("removals_by_shard", {}).get(str(shard.index), 0))
        if count == 0:
            return self.spark.createDataFrame([], REMOVALS_SCHEMA).drop("shard")
        removals = self.spark.read.schema(REMOVALS_SCHEMA).parquet(f"{self.stage_root}/removals").where(
            F.col("shard") == shard.index
        ).drop("shard")
        # A shard's removals are its own share of the crawl's duplicates: small enough to send to every task, so
        # the shard's text is never shuffled to apply them.
        return F.broadcast(removals) if count <= self.conf.ingest.max_broadcast_duplicates else removals

    def apply_removals(self, rows: DataFrame, removals: DataFrame) -> DataFrame:
        """Rows with the stage, reason and duplicate_of of their removal, if any (a removal overrides phase 1)."""
        renamed = removals.select(*ROW_ADDRESS, F.col("stage").alias("_r_stage"), F.col("reason").alias("_r_reason"),
                                  F.col("duplicate_of").alias("_r_dup"))
        joined = rows.join(renamed, ROW_ADDRESS, "left")
        hit = F.col("_r_reason").isNotNull()
        duplicate_of = F.col("duplicate_of") if "duplicate_of" in rows.columns else F.lit(None).cast("string")
        joined = joined.withColumn("stage", F.when(hit, F.col("_r_stage")).otherwise(F.col("stage")))
        joined = joined.withColumn("reason", F.when(hit, F.col("_r_reason")).otherwise(F.col("reason")))
        if "dedup" in self.stages or "duplicate_of" in rows.columns:
            joined = joined.withColumn("duplicate_of", F.when(hit, F.col("_r_dup")).otherwise(duplicate_of))
        return joined.drop("_r_stage", "_r_reason", "_r_dup")

    def with_buckets(self, frame: DataFrame) -> DataFrame:
        """Fill ``perplexity_bucket`` for the languages whose cut-offs the global phase computed."""
        from jobs.stages.model_quality import bucket_column

        cutoffs = {k: tuple(v) for k, v in self.global_marker.get("perplexity_cutoffs", {}).items()}
        if not cutoffs or "perplexity_bucket" not in frame.columns:
            return frame
        return frame.withColumn("perplexity_bucket", F.coalesce(F.col("perplexity_bucket"), bucket_column(cutoffs)))

    def finalize_pass(self, kept: DataFrame) -> DataFrame:
        """PII and token counts of the kept documents in one Python pass over their text (and language) alone: the
        other columns stay in the JVM, and the text crosses once instead of once per stage. Then what the stages
        add as Spark expressions: ``pii:too_many``, the category, ``n_chars`` and ``n_bytes``."""
        from jobs.stages import pii, tokens
        from jobs.stages.common import map_columns
        from udfs.document_pass import finalize_columns, finalize_documents

        columns = finalize_columns(self.stages, self.conf)
        # The category classifier reads the URL-rule category (it only classifies what the rules left at fallback).
        classify = "tokens" in self.stages and self.conf.categories.uses_classifier
        if classify:
            kept = tokens.with_url_category(kept, self.context)
        if columns:
            stages, conf = tuple(self.stages), self.conf
            inputs = ["text", *(["lang"] if "lang" in kept.columns else []), *(["category"] if classify else [])]
            kept = map_columns(kept, lambda batch: finalize_documents(batch, stages, conf), inputs, columns)
        if "pii" in self.stages:
            kept = pii.decide(kept, self.context) if self.conf.pii.enabled else pii.apply_to_rejected(kept)
        if "tokens" in self.stages:
            measured = tokens.measure(kept, self.context, categorized=classify)
            if "n_tokens" not in measured.columns:
                measured = measured.withColumn("n_tokens", F.lit(None).cast("bigint"))
            # The column order of the one-stage path (categories, n_chars, n_bytes, then n_tokens last), so
            # documents/ looks the same either way.
            last = [*tokens.CATEGORY_COLUMNS, "n_chars", "n_bytes", "n_tokens"]
            kept = measured.select(*[c for c in measured.columns if c not in last], *last)
        return kept

    def finalize_shard(self, shard: Shard) -> dict[str, Any]:
        out = self.conf.output
        removals = self.shard_removals(shard)
        live = self.with_buckets(self.apply_removals(self.shard_rows(shard, "live"), removals))
        kept = self.finalize_pass(live.where(F.col("reason").isNull()))
        documents = kept.where(F.col("reason").isNull()).drop("stage", "reason")
        self.schemas["documents"] = documents.schema
        documents_path = f"{self.output}/documents/shard={shard.name}"
        write_part(documents, documents_path, out.documents_partition_by, out.compression, allow_empty=False)

        rejected = self.with_buckets(self.apply_removals(self.shard_rows(shard, "rejected"), removals)).unionByName(
            live.where(F.col("reason").isNotNull()), allowMissingColumns=True
        )
        if "pii" in self.stages and self.conf.pii.max_replacements is not None:
            # pii:too_many drops are found by redacting: the kept frame again, its rejected rows this time.
            rejected = rejected.unionByName(
                kept.where(F.col("reason").isNotNull()), allowMissingColumns=True
            )
        for stage in ("pii", "tokens"):
            if stage in self.stages:
                rejected = importlib.import_module(f"jobs.stages.{stage}").apply_to_rejected(rejected, self.context)
        if not out.rejected_text:
            rejected = rejected.drop("text")
        self.schemas["rejected"] = rejected.schema
        rejected_path = f"{self.output}/rejected/shard={shard.name}"
        write_part(rejected, rejected_path, out.rejected_partition_by, out.compression, allow_empty=False)

        LOG.info("final %s: documents and rejected written", shard.name)
        counts = {
            "documents": _count(self.spark, documents_path),
            "rejected": _count(self.spark, rejected_path),
        }
        self.commit(f"final-{shard.name}", counts)
        remove_tree(self.spark, f"{self.stage_root}/shards/shard={shard.name}")
        return counts

    def ensure_readable(self) -> None:
        """A run that kept (or rejected) nothing still gets a readable, schema-only ``documents/`` (``rejected/``)."""
        for part, schema in self.schemas.items():
            path = f"{self.output}/{part}"
            if not has_data_files(self.spark, path):
                self.spark.createDataFrame([], schema).write.mode("overwrite").parquet(f"{path}/shard=empty")


def _removal_fields() -> list[Any]:
    return [F.lit(None).cast("string").alias(c) for c in ("stage", "reason", "duplicate_of")]


def _count(spark: SparkSession, path: str) -> int:
    """Rows written under ``path`` (0 when a shard's part wrote no file)."""
    return int(spark.read.parquet(path).count()) if has_data_files(spark, path) else 0
