"""The whole pipeline: WET files → ingest → normalize → langid → quality → dedup → pii → tokens → report.

    python -m jobs.pipeline --conf conf/local.yaml --input 'data/*.wet.gz' --output out/
    spark-submit jobs/pipeline.py --conf conf/defaults.yaml --input s3://bucket/prefix/ --output out/

Every record read ends up either in ``documents/`` or in ``rejected/`` with the stage and reason that dropped it;
``_manifest.json`` lists each input with its counts and checks ``read = kept + rejected`` per file and in total.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # spark-submit jobs/pipeline.py: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jobs.base import LOG, Job
from udfs.config import STAGES, PipelineConfig
from udfs.errors import ConfigError
from udfs.sources import resolve_inputs

# Stages applied as DataFrame -> DataFrame between ingest and the final write, each in jobs/stages/<name>.py.
TRANSFORM_STAGES = ("normalize", "langid", "quality", "dedup", "pii", "tokens")


@dataclass(frozen=True)
class StageContext:
    """What a stage may need beyond the frame: the session, the conf and where it may write scratch data."""

    spark: Any
    conf: PipelineConfig
    output: str
    work_dir: str


def parse_stages(text: str | None, conf: PipelineConfig) -> list[str]:
    stages = [s.strip() for s in text.split(",") if s.strip()] if text else list(conf.run.stages)
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
            "or prefix, or a CC wet.paths.gz manifest; Parquet documents of an earlier run when "
            "input.format=parquet or ingest is not among --stages. Default: conf input.paths",
        )
        parser.add_argument("--output", required=True, help="output folder (local, or s3:// / gs:// on a cluster)")
        if self.fixed_stages is not None:
            return
        parser.add_argument(
            "--stages",
            default=None,
            help=f"comma-separated subset of the stages, run in the fixed order: {','.join(STAGES)} "
            "(default: conf run.stages)",
        )

    def validate_arguments(self, args: argparse.Namespace, conf: PipelineConfig) -> None:
        from jobs.stages.ingest import s3_settings
        from jobs.stages.output import prepare_output

        if self.fixed_stages is not None:
            self.stages = list(self.fixed_stages)
        else:
            self.stages = parse_stages(args.stages, conf)
        specs = args.input or list(conf.input.paths)
        self.from_wet = "ingest" in self.stages and conf.input.format == "wet"
        if self.from_wet:
            self.files = resolve_inputs(specs, s3_settings(conf), conf.input.manifest_base)
        else:
            if not specs:
                raise ConfigError("--input: give the Parquet documents folder of an earlier run")
            self.files = specs
        prepare_output(args.output, conf)

    def run_job(self, spark: Any, args: argparse.Namespace, conf: PipelineConfig) -> int:
        from jobs.stages.ingest import as_dict, read_parquet_documents, read_wet_files
        from jobs.stages.output import (
            count_outcomes,
            funnel,
            read_outcomes,
            remove_tree,
            write_frames,
            write_manifest,
        )

        started = time.time()
        run_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        output = args.output.rstrip("/")
        work_dir = conf.spark.checkpoint_dir or f"{output}/_tmp"
        context = StageContext(spark=spark, conf=conf, output=output, work_dir=work_dir)
        LOG.info("run %s: %d input(s), stages %s", run_id, len(self.files), ",".join(self.stages))

        if self.from_wet:
            frame, reports = read_wet_files(spark, self.files, conf)
        else:
            frame, reports = read_parquet_documents(spark, self.files), []
        for stage in TRANSFORM_STAGES:
            if stage in self.stages:
                module = importlib.import_module(f"jobs.stages.{stage}")
                frame = module.apply(frame, context)

        frame = frame.persist()
        write_frames(frame, output, conf)
        # Counted from what was written, then checked against what ingest read: a lost row cannot hide.
        counts = count_outcomes(read_outcomes(spark, output))
        # Stages may have cached their inputs (ingest, dedup) and checkpointed (dedup): the output holds it all now.
        frame.unpersist()
        spark.catalog.clearCache()
        if not conf.spark.checkpoint_dir:
            remove_tree(spark, work_dir)

        total_read = sum(r.records_read for r in reports) if reports else counts.kept + counts.rejected
        inputs = []
        invariant_ok = counts.kept + counts.rejected == total_read
        for report in reports:
            outcome = counts.by_file.get(report.path, {"kept": 0, "rejected": 0})
            entry = as_dict(report) | outcome
            entry["accounted"] = report.records_read == outcome["kept"] + outcome["rejected"]
            invariant_ok = invariant_ok and entry["accounted"]
            inputs.append(entry)
        failed = [r.path for r in reports if r.status == "failed"]
        stage_table = funnel(total_read, counts, self.stages)
        outputs = {"documents": f"{output}/documents", "rejected": f"{output}/rejected"}
        report_error = None
        try:
            token_table = self.token_table(spark, output, conf, run_id, total_read, counts)
            if "report" in self.stages and conf.report.enabled:
                outputs["reports"] = f"{output}/reports"
        except Exception as exc:  # the data is written: still write the manifest, then fail the run
            LOG.exception("report failed")
            token_table, report_error = None, f"{type(exc).__name__}: {exc}"
        manifest = {
            "run_id": run_id,
            "started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(),
            "finished_at": datetime.now(timezone.utc).isoformat(),
            "seconds": round(time.time() - started, 1),
            "status": "failed" if failed or not invariant_ok else "ok",
            "stages": self.stages,
            "conf": conf.redacted(),
            "totals": {
                "inputs": len(reports) if reports else len(self.files),
                "failed_inputs": len(failed),
                "records_read": total_read,
                "kept": counts.kept,
                "rejected": counts.rejected,
                "invariant_ok": invariant_ok,
            },
            "funnel": stage_table,
            "inputs": inputs,
            "outputs": outputs,
        }
        if report_error:
            manifest["status"] = "failed"
            manifest["report_error"] = report_error
        manifest_path = write_manifest(spark, output, manifest)
        print_summary(manifest, manifest_path, token_table, conf.report.top_n)
        if not invariant_ok:
            LOG.error("accounting invariant broken: read %d != kept %d + rejected %d", total_read, counts.kept,
                      counts.rejected)
            return 1
        if report_error:
            LOG.error("report failed: %s", report_error)
            return 1
        if failed and conf.run.fail_on_failed_inputs:
            LOG.error("%d input file(s) failed: %s", len(failed), ", ".join(failed))
            return 1
        return 0

    def token_table(self, spark: Any, output: str, conf: PipelineConfig, run_id: str, total_read: int,
                    counts: Any) -> Any:
        """Write ``<output>/reports/`` when the report stage runs; the category × language token table either way."""
        from jobs.stages.report import build_report, tokens_by_category

        if "report" not in self.stages or not conf.report.enabled:
            return tokens_by_category(spark.read.parquet(f"{output}/documents"))
        tokenizer = conf.tokens.tokenizer if "tokens" in self.stages else None
        run_info = {"run_id": run_id, "stages": self.stages, "records_read": total_read, "tokenizer": tokenizer}
        tables, reports = build_report(spark, output, conf.report, run_info, (counts.by_reason, counts.kept))
        LOG.info("report written to %s", reports)
        return tables["tokens_by_category"]


def print_summary(manifest: dict[str, Any], manifest_path: str, token_table: Any = None, top_n: int = 20) -> None:
    totals = manifest["totals"]
    lines = [
        "",
        f"cc-refinery run {manifest['run_id']}: {manifest['status']}",
        f"  inputs: {totals['inputs']} file(s), {totals['failed_inputs']} failed",
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
