"""Stage ``report``: tables computed from the written data with ``groupBy().agg()``, rendered by udfs.report.

Writes ``<output>/reports/``: ``tokens_by_category.parquet`` (category × language: documents, tokens, chars,
share), ``funnel.parquet`` (stage × reason counts), ``signals.parquet`` (binned distributions of quality signals
such as ``lang_score`` and ``perplexity`` over every record that has them), plus ``report.md`` and PNG plots.
Only aggregates (a few hundred rows) ever reach the driver.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

# signal column → (low, high, bins, log10 scale): the histogram ranges drawn in the report.
SIGNALS: dict[str, tuple[float, float, int, bool]] = {
    "lang_score": (0.0, 1.0, 20, False),
    "perplexity": (0.0, 5.0, 25, True),  # log10(perplexity): 1 … 100,000
    "quality_score": (0.0, 1.0, 20, False),
}


def tokens_by_category(documents: DataFrame) -> pd.DataFrame:
    """category × lang: documents, tokens, chars and each cell's share of all tokens."""
    category = F.coalesce(F.col("category"), F.lit("other")) if "category" in documents.columns else F.lit("other")
    tokens = F.col("n_tokens") if "n_tokens" in documents.columns else F.lit(0)
    chars = F.col("n_chars") if "n_chars" in documents.columns else F.length("text")
    table = (
        documents.groupBy(category.alias("category"), F.coalesce(F.col("lang"), F.lit("und")).alias("lang"))
        .agg(
            F.count(F.lit(1)).alias("documents"),
            F.sum(tokens).cast("long").alias("tokens"),
            F.sum(chars).cast("long").alias("chars"),
        )
        .toPandas()
    )
    total = table["tokens"].sum()
    table["share"] = table["tokens"] / total if total else 0.0
    return table.sort_values(["tokens", "category", "lang"], ascending=[False, True, True]).reset_index(drop=True)


def funnel_table(by_reason: dict[tuple[str, str], int], kept: int) -> pd.DataFrame:
    rows = [{"stage": stage, "reason": reason, "documents": n} for (stage, reason), n in sorted(by_reason.items())]
    rows.append({"stage": "kept", "reason": "", "documents": kept})
    return pd.DataFrame(rows, columns=["stage", "reason", "documents"])


def signal_histograms(records: DataFrame) -> pd.DataFrame:
    """(signal, bin_low, bin_high, count) for each signal column present, over records that have a value."""
    parts = []
    for signal, (low, high, bins, log) in SIGNALS.items():
        if signal not in records.columns:
            continue
        value = F.log10(F.col(signal)) if log else F.col(signal)
        width = (high - low) / bins
        index = F.least(F.greatest(F.floor((value - low) / width), F.lit(0)), F.lit(bins - 1)).cast("int")
        present = F.col(signal).isNotNull() & ~F.isnan(signal) & ((F.col(signal) > 0) if log else F.lit(True))
        counts = (
            records.filter(present)
            .groupBy(index.alias("bin"))
            .count()
            .toPandas()
        )
        for row in counts.itertuples():
            bin_low, bin_high = low + row.bin * width, low + (row.bin + 1) * width
            if log:
                bin_low, bin_high = math.pow(10, bin_low), math.pow(10, bin_high)
            parts.append({"signal": signal, "bin_low": bin_low, "bin_high": bin_high, "count": int(row.count)})
    frame = pd.DataFrame(parts, columns=["signal", "bin_low", "bin_high", "count"])
    return frame.sort_values(["signal", "bin_low"]).reset_index(drop=True)


def _write_table(spark: SparkSession, table: pd.DataFrame, path: str) -> None:
    if "://" not in path or path.startswith("file://"):
        local = path.removeprefix("file://")
        os.makedirs(os.path.dirname(local), exist_ok=True)
        table.to_parquet(local, index=False)
        return
    spark.createDataFrame(table).coalesce(1).write.mode("overwrite").parquet(path)


def _copy_out(spark: SparkSession, local: Path, target: str) -> None:
    if "://" not in target or target.startswith("file://"):
        destination = target.removeprefix("file://")
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copyfile(local, destination)
        return
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(target)
    path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).copyFromLocalFile(
        False, True, jvm.org.apache.hadoop.fs.Path(str(local)), path
    )


def build_report(
    spark: SparkSession, output: str, by_reason: dict[tuple[str, str], int], kept: int, run_info: dict[str, Any]
) -> dict[str, Any]:
    """Compute the report tables from ``<output>`` and write them with the rendered report; returns the tables."""
    from udfs.report import write_report

    documents = spark.read.parquet(f"{output}/documents")
    rejected = spark.read.parquet(f"{output}/rejected")
    shared = [c for c in SIGNALS if c in documents.columns]
    records = documents.select(*shared).unionByName(
        rejected.select(*[c for c in shared if c in rejected.columns]), allowMissingColumns=True
    )
    tables = {
        "tokens_by_category": tokens_by_category(documents),
        "funnel": funnel_table(by_reason, kept),
        "signals": signal_histograms(records),
    }
    reports = f"{output}/reports"
    for name, table in tables.items():
        _write_table(spark, table, f"{reports}/{name}.parquet")
    with tempfile.TemporaryDirectory() as tmp:
        written = write_report(Path(tmp), tables["tokens_by_category"], tables["funnel"], tables["signals"], run_info)
        for path in written:
            _copy_out(spark, Path(path), f"{reports}/{Path(path).name}")
    return tables
