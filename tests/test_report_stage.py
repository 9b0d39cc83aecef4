"""The report as a stage: ``apply(frame, context)`` over every written row (``jobs.output.write.read_written``), on
the sharded layout, including a run that kept nothing (its ``documents/`` is a schema-only ``shard=empty``)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from jobs.output.write import read_written
from jobs.stages import report
from jobs.stages.common import StageContext
from tests.test_report import DOCUMENT_SCHEMA, DOCUMENTS, REJECTED, REJECTED_SCHEMA
from udfs.report import ReportConfig

pytestmark = pytest.mark.spark


def run_report(spark: Any, output: Path, records_read: int) -> pd.DataFrame:
    context = StageContext(
        spark=spark, conf=SimpleNamespace(report=ReportConfig(plots=False)), output=str(output),
        work_dir=str(output / "_tmp"), run={"run_id": "t", "stages": ["ingest", "langid", "dedup", "report"],
                                            "records_read": records_read},
    )
    written = read_written(spark, str(output))
    assert report.apply(written, context) is written  # the report filters nothing
    return pd.read_parquet(output / "reports" / "funnel.parquet")


def write_rejected(spark: Any, output: Path) -> None:
    spark.createDataFrame(REJECTED, REJECTED_SCHEMA).write.partitionBy("stage").parquet(
        f"{output}/rejected/shard=00000"
    )


def test_report_stage_on_sharded_output(spark: Any, tmp_path: Path) -> None:
    output = tmp_path / "out"
    spark.createDataFrame(DOCUMENTS, DOCUMENT_SCHEMA).write.partitionBy("lang").parquet(
        f"{output}/documents/shard=00000"
    )
    write_rejected(spark, output)
    funnel = run_report(spark, output, 9)
    assert funnel[["stage", "reason", "documents"]].values.tolist() == [
        ["ingest", "ingest:truncated_record", 1],
        ["langid", "langid:low_score", 2],
        ["dedup", "dedup:exact", 1],
        ["kept", "", 5],
    ]
    tokens = pd.read_parquet(output / "reports" / "tokens_by_category.parquet")
    assert int(tokens["documents"].sum()) == 5 and int(tokens["tokens"].sum()) == 400


def test_report_stage_on_a_run_that_kept_nothing(spark: Any, tmp_path: Path) -> None:
    output = tmp_path / "out"
    # What ShardedRun.ensure_readable writes when no shard kept a document: its shard column is the string "empty",
    # the rejected part's a number.
    spark.createDataFrame([], DOCUMENT_SCHEMA).write.parquet(f"{output}/documents/shard=empty")
    write_rejected(spark, output)
    funnel = run_report(spark, output, 4)
    assert funnel[["stage", "reason", "documents"]].values.tolist() == [
        ["ingest", "ingest:truncated_record", 1],
        ["langid", "langid:low_score", 2],
        ["dedup", "dedup:exact", 1],
        ["kept", "", 0],
    ]
    assert funnel["share_of_read"].tolist() == [0.25, 0.5, 0.25, 0.0]
