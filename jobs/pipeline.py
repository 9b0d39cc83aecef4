"""The whole pipeline: WET files → ingest → normalize → langid → quality → dedup → pii → tokens → report.

    python -m jobs.pipeline --conf conf/local.yaml --input 'data/*.wet.gz' --output out/
    spark-submit jobs/pipeline.py --conf conf/defaults.yaml --input s3://bucket/prefix/ --output out/
    python -m jobs.pipeline --conf conf/emr.yaml --input s3://commoncrawl/.../wet.paths.gz --output out/ --dry-run

WET inputs run sharded and resumable (``jobs/sharded.py``): rerunning the same command after a crash carries on
from the last committed shard or phase (``output.mode: resume``). Every record read ends up either in
``documents/`` or in ``rejected/`` with the stage and reason that dropped it; ``stats/files.parquet`` holds each
input with its counts and ``read = kept + rejected`` per file; ``_manifest.json`` the totals and the funnel.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import textwrap
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # spark-submit jobs/pipeline.py: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jobs.base import LOG, Job
from jobs.stages.common import StageContext
from udfs.config import STAGES, PipelineConfig
from udfs.errors import ConfigError
from udfs.secrets import active_redactor, conf_secrets

# Stages applied as DataFrame -> DataFrame between ingest and the final write, each in jobs/stages/<name>.py.
TRANSFORM_STAGES = ("normalize", "langid", "quality", "dedup", "pii", "tokens")
# Stages over the written output, each in jobs/stages/<name>.py with the same apply(frame, context): they read back
# every row the run wrote (so they describe what is there) and filter nothing.
OUTPUT_STAGES = ("report",)


def check_parquet_input(spec: str, stages: list[str]) -> None:
    """Without ``ingest`` the inputs are Parquet documents of an earlier run: a local WET file or folder of them is
    refused here, before Spark (it used to fail in Spark's Parquet reader, after the output had been cleared)."""
    from jobs.filesystem import local_path
    from udfs.sources import is_wet_name

    path = local_path(spec)
    if path is None or not os.path.exists(path):
        return  # remote, or a glob: Spark's reader names what it cannot read
    names = [os.path.basename(path)] if os.path.isfile(path) else [n for _, _, ns in os.walk(path) for n in ns]
    if any(is_wet_name(name) for name in names) and not any(name.endswith(".parquet") for name in names):
        raise ConfigError(f"--input {spec}: WET files, but the stages {','.join(stages)} start from the Parquet "
                          "documents of an earlier run (add ingest to --stages to read WET)")


def check_local_output(path: str) -> None:
    """The output must be a folder this process can create and write; checked before any work is done."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ConfigError(f"--output {path}: is a file, not a folder")
    existing = path
    while not os.path.exists(existing):
        parent = os.path.dirname(existing.rstrip("/")) or "."
        if parent == existing:
            break
        existing = parent
    if not os.path.isdir(existing):
        raise ConfigError(f"--output {path}: {existing} is a file, so the folder cannot be created")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"--output {path}: {existing} is not writable by this user")


def _java_cause(exc: BaseException) -> str:
    """The innermost Java exception's class and message (what a Py4J trace buries under 100 lines)."""
    java = getattr(exc, "java_exception", None)
    while java is not None and java.getCause() is not None:
        java = java.getCause()
    return f"{java.getClass().getName()}: {java.getMessage()}" if java is not None else type(exc).__name__


def parse_stages(text: str | None, conf: PipelineConfig) -> list[str]:
    stages = [s.strip() for s in text.split(",") if s.strip()] if text is not None else list(conf.run.stages)
    if not stages:  # "--stages ," or "--stages ''" is a typo, not "all stages"
        raise ConfigError(f"--stages: no stage named in {text!r} (stages, in order: {', '.join(STAGES)})")
    for stage in stages:
        if stage not in STAGES:
            raise ConfigError(f"--stages: unknown stage {stage!r} (stages, in order: {', '.join(STAGES)})")
    return [s for s in STAGES if s in stages]


class PipelineJob(Job):
    name = "pipeline"
    description = __doc__ or ""
    fixed_stages: tuple[str, ...] | None = None
    """Set by single-stage jobs (jobs/ingest.py, jobs/dedup.py): the stages they always run, no --stages option."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--input",
            action="extend",
            nargs="+",
            default=[],
            metavar="PATH",
            help="WET inputs (several per flag, flag repeatable): local paths, directories, globs, s3://bucket/key "
            "or prefix, http(s):// URLs, Hadoop filesystem URLs (gs://, hdfs://, abfs://, s3a://, file://), or a CC "
            "wet.paths.gz manifest; Parquet documents of an earlier run when "
            "input.format=parquet or ingest is not among --stages. Default: conf input.paths",
        )
        parser.add_argument("--output", required=True, help="output folder (local, or s3:// / gs:// on a cluster)")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print the inputs, shards, stages and resolved conf, then exit without starting Spark",
        )
        if self.fixed_stages is not None:
            return
        parser.add_argument(
            "--stages",
            default=None,
            help=f"comma-separated subset of the stages, run in the fixed order: {','.join(STAGES)} "
            "(default: conf run.stages)",
        )

    def validate_arguments(self, args: argparse.Namespace, conf: PipelineConfig) -> None:
        from jobs.filesystem import local_path
        from jobs.stages.ingest import resolve_wet_inputs

        if self.fixed_stages is not None:
            self.stages = list(self.fixed_stages)
        else:
            self.stages = parse_stages(args.stages, conf)
        specs = args.input or list(conf.input.paths)
        self.from_wet = "ingest" in self.stages and conf.input.format == "wet"
        if self.from_wet:
            self.files = resolve_wet_inputs(specs, conf)
            if "dedup" in self.stages and conf.dedup.paragraphs.enabled:
                raise ConfigError(
                    "dedup.paragraphs.enabled: paragraph dedup needs the text of every document at once and is not "
                    "part of the sharded WET pipeline; run it with jobs/dedup.py on the documents/ of this run"
                )
        else:
            if not specs:
                raise ConfigError("--input: give the Parquet documents folder of an earlier run")
            for spec in specs:
                check_parquet_input(spec, self.stages)
            self.files = specs
        self.lock = None
        self.resuming = False
        if getattr(args, "dry_run", False):
            return
        if self.from_wet:
            from jobs.stages.ingest import source_settings
            from udfs.sources import check_s3_endpoints

            check_s3_endpoints(self.files, source_settings(conf))
        if local_path(args.output) is not None:  # a local output is checked and locked before Spark starts
            check_local_output(local_path(args.output))
            self.open_output(None, args.output, conf)

    def open_output(self, spark: Any, output: str, conf: PipelineConfig) -> None:
        """Take the output's lock, then make it ready per ``output.mode`` (nothing is deleted before the lock)."""
        from jobs.filesystem import OutputFiles, local_path
        from jobs.runstate import OutputLock, prepare_output, run_identity

        files = OutputFiles(output, spark)
        lock = OutputLock(files, conf.output.lock_stale_seconds,
                          settle_seconds=0.0 if local_path(output) is not None else 2.0)
        try:
            # Writing the lock is the first write to the output: for a remote output it is the writability check,
            # done before any input is read.
            lock.acquire()
        except ConfigError:
            raise
        except Exception as exc:  # a Java or OS error: one line naming the output, not a trace
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if "Py4JJavaError" in type(exc).__name__:
                detail = _java_cause(exc)
            raise ConfigError(f"--output {output}: cannot write there ({detail})") from None
        try:
            self.resuming = prepare_output(files, conf.output.mode, run_identity(conf, self.files, self.stages))
            if self.resuming and not self.from_wet:  # nothing to resume in one pass over Parquet: start over
                for name in files.entries():
                    if name not in ("_lock", "_run.json"):
                        files.remove(name)
        except BaseException:
            lock.release()
            raise
        self.lock = lock

    def dry_run(self, args: argparse.Namespace, conf: PipelineConfig) -> int:
        import yaml

        from jobs.sharded import plan_shards

        lines = [f"cc-refinery dry run: output {args.output} (mode {conf.output.mode})",
                 f"  stages: {','.join(self.stages)}", f"  inputs: {len(self.files)} file(s)"]
        lines += [f"    {path}" for path in self.files[:20]]
        if len(self.files) > 20:
            lines.append(f"    ... and {len(self.files) - 20} more")
        if self.from_wet:
            shards = plan_shards(self.files, conf.run.files_per_shard)
            lines.append(f"  shards: {len(shards)} of up to {conf.run.files_per_shard} file(s), "
                         f"{conf.run.concurrent_shards} at once")
            for shard in shards[:10]:
                lines.append(f"    shard {shard.name}: files {shard.files[0][0]}-{shard.files[-1][0]}")
        else:
            lines.append("  Parquet input: one pass, not sharded")
        conf_text = yaml.safe_dump(conf.redacted(), sort_keys=False, default_flow_style=False)
        lines += ["  conf:", textwrap.indent(conf_text.rstrip(), "    ")]
        print("\n".join(lines), flush=True)
        return 0

    def run_job(self, spark: Any, args: argparse.Namespace, conf: PipelineConfig) -> int:
        if self.lock is None:
            self.open_output(spark, args.output, conf)
        try:
            if self.from_wet:
                return self.run_sharded(spark, args, conf)
            return self.run_in_one_pass(spark, args, conf)
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None

    def run_sharded(self, spark: Any, args: argparse.Namespace, conf: PipelineConfig) -> int:
        from jobs.output.accounting import summarize
        from jobs.sharded import ShardedRun

        started = time.time()
        run_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        output = args.output.rstrip("/")
        LOG.info("run %s: %d input(s), stages %s%s", run_id, len(self.files), ",".join(self.stages),
                 " (resuming)" if self.resuming else "")
        run = ShardedRun(spark, conf, self.stages, self.files, output)
        run.run()
        summary_started = time.time()
        run.describe("stats", "stats: per-file table and totals from the written output")
        summary = summarize(spark, output, conf.output.manifest_max_inputs)
        run.describe("report", "report: token counts from the written documents")
        run.phase_seconds["stats"] = round(time.time() - summary_started, 2)
        counts = summary.counts
        invariant_ok = counts.kept + counts.rejected == summary.records_read and summary.unaccounted_inputs == 0
        extra = {
            "resumed": self.resuming,
            "shards": {"count": len(run.shards), "files_per_shard": conf.run.files_per_shard},
            "stats": summary.stats_path,
            "phase_seconds": run.phase_seconds,
            "totals": {"inputs_without_wet_records": summary.no_wet_inputs},
        }
        return self.finish(spark, output, conf, run_id, started, summary.records_read, counts, invariant_ok,
                           summary.inputs, summary.failed_inputs, summary.listed_inputs, extra)

    def run_in_one_pass(self, spark: Any, args: argparse.Namespace, conf: PipelineConfig) -> int:
        """Parquet inputs (an earlier run's documents, jobs/dedup.py): every stage over one frame, written once."""
        from jobs.filesystem import remove_tree
        from jobs.output.accounting import count_outcomes, read_outcomes
        from jobs.output.write import write_frames
        from jobs.stages.ingest import read_parquet_documents

        started = time.time()
        run_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        output = args.output.rstrip("/")
        work_dir = conf.spark.checkpoint_dir or f"{output}/_tmp"
        context = StageContext(spark=spark, conf=conf, output=output, work_dir=work_dir)
        LOG.info("run %s: %d input(s), stages %s", run_id, len(self.files), ",".join(self.stages))
        frame = read_parquet_documents(spark, self.files)
        for stage in TRANSFORM_STAGES:
            if stage in self.stages:
                module = importlib.import_module(f"jobs.stages.{stage}")
                frame = module.apply(frame, context)
        frame = frame.persist()
        write_frames(frame, output, conf)
        # Counted from what was written: a lost row cannot hide.
        counts = count_outcomes(read_outcomes(spark, output))
        frame.unpersist()
        spark.catalog.clearCache()
        if not conf.spark.checkpoint_dir:
            remove_tree(spark, work_dir)
        total_read = counts.kept + counts.rejected
        return self.finish(spark, output, conf, run_id, started, total_read, counts, True, len(self.files), 0, [],
                           {})

    def finish(self, spark: Any, output: str, conf: PipelineConfig, run_id: str, started: float, total_read: int,
               counts: Any, invariant_ok: bool, n_inputs: int, n_failed: int, inputs: list[dict[str, Any]],
               extra: dict[str, Any]) -> int:
        """Report, manifest and exit code of a written run."""
        from jobs.output.manifest import write_manifest
        from jobs.stages.report import tokens_by_category
        from udfs.report import stage_funnel_rows

        report_started = time.time()
        stage_table = stage_funnel_rows(counts.by_reason, total_read, self.stages)
        outputs = {"documents": f"{output}/documents", "rejected": f"{output}/rejected"}
        report_error = None
        try:
            results = self.run_output_stages(spark, output, conf, run_id, total_read)
            token_table = results.get("tokens_by_category")
            if token_table is None:  # no report stage: the summary's table alone
                token_table = tokens_by_category(spark.read.parquet(f"{output}/documents"))
            if "report" in self.stages and conf.report.enabled:
                outputs["reports"] = f"{output}/reports"
        except Exception as exc:  # the data is written: still write the manifest, then fail the run
            LOG.exception("report failed")
            token_table, report_error = None, f"{type(exc).__name__}: {exc}"
        if "phase_seconds" in extra:
            extra["phase_seconds"]["report"] = round(time.time() - report_started, 2)
        manifest = {
            "run_id": run_id,
            "started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(),
            "finished_at": datetime.now(timezone.utc).isoformat(),
            "seconds": round(time.time() - started, 1),
            "status": "failed" if n_failed or not invariant_ok else "ok",
            "stages": self.stages,
            "conf": conf.redacted(),
            "totals": {
                "inputs": n_inputs,
                "failed_inputs": n_failed,
                "records_read": total_read,
                "kept": counts.kept,
                "rejected": counts.rejected,
                "invariant_ok": invariant_ok,
            },
            "funnel": stage_table,
            "inputs": inputs,
            "outputs": outputs,
        }
        manifest["totals"] |= extra.pop("totals", {})
        manifest |= extra
        if report_error:
            manifest["status"] = "failed"
            manifest["report_error"] = report_error
        # No credential in the manifest, wherever a value was copied (an error message, an input URL).
        manifest = active_redactor().extended(conf_secrets(conf.raw)).scrub(manifest)
        manifest_path = write_manifest(spark, output, manifest)
        print_summary(manifest, manifest_path, token_table, conf.report.top_n)
        if not invariant_ok:
            LOG.error("accounting invariant broken: read %d != kept %d + rejected %d (see %s)", total_read,
                      counts.kept, counts.rejected, extra.get("stats"))
            return 1
        if report_error:
            LOG.error("report failed: %s", report_error)
            return 1
        if n_failed and conf.run.fail_on_failed_inputs:
            LOG.error("%d input file(s) failed: %s", n_failed, ", ".join(e["path"] for e in inputs
                                                                         if e["status"] == "failed"))
            return 1
        return 0

    def run_output_stages(self, spark: Any, output: str, conf: PipelineConfig, run_id: str,
                          total_read: int) -> dict[str, Any]:  # fmt: skip
        """The stages of ``OUTPUT_STAGES`` that run, over every row written, called as the transform stages are;
        returns the small tables they hand back (``StageContext.results``)."""
        from jobs.output.write import read_written

        stages = [stage for stage in OUTPUT_STAGES if stage in self.stages]
        if not stages:
            return {}
        tokenizer = conf.tokens.tokenizer if "tokens" in self.stages else None
        run = {"run_id": run_id, "stages": self.stages, "records_read": total_read, "tokenizer": tokenizer}
        context = StageContext(spark=spark, conf=conf, output=output,
                               work_dir=conf.spark.checkpoint_dir or f"{output}/_tmp", run=run)
        written = read_written(spark, output)
        for stage in stages:
            importlib.import_module(f"jobs.stages.{stage}").apply(written, context)
        return context.results


def print_summary(manifest: dict[str, Any], manifest_path: str, token_table: Any = None, top_n: int = 20) -> None:
    totals = manifest["totals"]
    lines = [
        "",
        f"cc-refinery run {manifest['run_id']}: {manifest['status']}",
        f"  inputs: {totals['inputs']} file(s), {totals['failed_inputs']} failed"
        + (f", {totals['inputs_without_wet_records']} without any WET record (see status no_wet_records)"
           if totals.get("inputs_without_wet_records") else ""),
        f"  records read: {totals['records_read']}  kept: {totals['kept']}  rejected: {totals['rejected']}"
        f"  (read = kept + rejected: {'yes' if totals['invariant_ok'] else 'NO'})",
        "  funnel:",
    ]
    for row in manifest["funnel"]:
        lines.append(f"    {row['stage']:<10} in {row['in']:>8}  kept {row['kept']:>8}  rejected {row['rejected']:>8}")
        for reason, n in sorted(row["reasons"].items(), key=lambda item: -item[1]):
            lines.append(f"        {reason:<40} {n:>8}")
    if token_table is not None:
        from udfs.report import token_console_lines

        lines += token_console_lines(token_table, top_n)
    for entry in manifest["inputs"]:
        if entry["status"] != "ok":
            lines.append(f"  input {entry['status']}: {entry['path']}: {entry['error']}")
    lines += [f"  documents: {manifest['outputs']['documents']}", f"  rejected:  {manifest['outputs']['rejected']}"]
    if "reports" in manifest["outputs"]:
        lines.append(f"  reports:   {manifest['outputs']['reports']}")
    lines.append(f"  manifest:  {manifest_path}")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    PipelineJob().run()
