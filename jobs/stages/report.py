"""Stage ``report``: tables computed from the written data with ``groupBy().agg()``, rendered by udfs.report.

Writes ``<output>/reports/``: ``tokens_by_category.parquet`` (category × language: documents, tokens, chars,
share), ``category_coverage.parquet`` (documents and tokens by ``category_source``: url, classifier, none),
``funnel.parquet`` (stage × reason counts with their share of records read), ``signals.parquet`` (binned
distributions of quality signals such as ``lang_score`` and ``perplexity``, kept and rejected records apart),
``signal_summary.parquet``, ``pii.parquet`` when the ``pii`` stage ran, ``report.json`` with the same tables,
``report.md`` and PNG plots. Only aggregates (a few hundred rows) ever reach the driver.

The report reads ``<output>/documents`` and ``<output>/rejected`` back rather than the frame of the run, so it
counts exactly what was written and can be rebuilt for any finished output (``build_report``). Columns added by
optional stages (``category``, ``n_tokens``, ``n_chars``, ``perplexity``, ``quality_score``, ``pii_*``) are used
where present: without ``category`` every document is ``other``; without ``n_tokens`` tokens are null (not 0);
without ``n_chars`` characters are ``length(text)``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.filesystem import copy_from_local
from udfs.config import STAGES
from udfs.report import (
    PII_COLUMNS,
    SIGNAL_COLUMNS,
    SUMMARY_COLUMNS,
    ReportConfig,
    coverage_records,
    coverage_rows,
    coverage_table,
    funnel_rows,
    with_shares,
    write_report,
)

STAGE = "report"
LOG = logging.getLogger("cc_refinery")
UNKNOWN_LANGUAGE = "und"
"""Language of documents without one (langid did not run), as in BCP 47."""
FALLBACK_CATEGORY = "other"
"""Category of documents without one (the categories stage did not run or matched no rule)."""
PII_PREFIX = "pii_"


def tokens_by_category(documents: DataFrame) -> pd.DataFrame:
    """category × lang: documents, tokens, chars and each cell's share of all tokens, largest first.

    One aggregation by (category, lang, category_source) gives this table and the category coverage (documents
    and tokens per ``category_source``, :func:`udfs.report.coverage_rows`), which rides along as records in
    ``.attrs["category_coverage"]`` (JSON-able, as pandas stores attrs in Parquet metadata) so the driver's summary,
    which is handed this table, prints it too. Outputs without ``category_source`` (older runs) get it from the
    category: ``url`` when one was named, else ``none``."""
    columns = set(documents.columns)
    category = F.coalesce(F.col("category"), F.lit(FALLBACK_CATEGORY)) if "category" in columns else F.lit(
        FALLBACK_CATEGORY
    )
    from_category = F.when(category != F.lit(FALLBACK_CATEGORY), F.lit("url")).otherwise(F.lit("none"))
    source = F.coalesce(F.col("category_source"), from_category) if "category_source" in columns else from_category
    lang = F.coalesce(F.col("lang"), F.lit(UNKNOWN_LANGUAGE)) if "lang" in columns else F.lit(UNKNOWN_LANGUAGE)
    tokens = F.sum("n_tokens").cast("long") if "n_tokens" in columns else F.lit(None).cast("long")
    chars = F.col("n_chars") if "n_chars" in columns else F.length("text")
    cells = (
        documents.groupBy(category.alias("category"), lang.alias("lang"), source.alias("category_source"))
        .agg(F.count(F.lit(1)).alias("documents"), tokens.alias("tokens"), F.sum(chars).cast("long").alias("chars"))
        .toPandas()
    )
    summed = cells.groupby(["category", "lang"], as_index=False, sort=False).agg(
        documents=("documents", "sum"), tokens=("tokens", lambda s: s.sum(min_count=1)), chars=("chars", "sum")
    ) if len(cells) else cells.drop(columns="category_source")
    table = with_shares(summed)
    coverage = coverage_rows(cells[["category_source", "documents", "tokens"]])
    table.attrs["category_coverage"] = coverage_records(coverage)
    return table


def funnel_counts(documents: DataFrame, rejected: DataFrame) -> tuple[dict[tuple[str, str], int], int]:
    """(stage, reason) → rejected count, and the number of kept documents, from the written data."""
    rows = rejected.groupBy("stage", "reason").agg(F.count(F.lit(1)).alias("n")).collect()
    kept = documents.agg(F.count(F.lit(1)).alias("n")).collect()[0]["n"]
    return {(r["stage"], r["reason"]): int(r["n"]) for r in rows}, int(kept)


def _signal_records(documents: DataFrame, rejected: DataFrame, names: list[str]) -> DataFrame | None:
    """Long form (part, signal, value) of every non-null, non-NaN signal value of kept and rejected records."""
    parts = []
    for part, frame in (("documents", documents), ("rejected", rejected)):
        present = [n for n in names if n in frame.columns]
        if not present:
            continue
        pairs = F.array(*[F.struct(F.lit(n).alias("signal"), F.col(n).cast("double").alias("value")) for n in present])
        parts.append(frame.select(F.lit(part).alias("part"), F.explode(pairs).alias("s")))
    if not parts:
        return None
    records = parts[0]
    for other in parts[1:]:
        records = records.unionByName(other)
    value = F.col("s.value")
    return records.select("part", F.col("s.signal").alias("signal"), value.alias("value")).filter(
        value.isNotNull() & ~F.isnan(value)
    )


def _by_signal(conf: ReportConfig, pick: Any) -> Column:
    """A column holding ``pick(spec)`` for each row's signal."""
    expression = F.lit(None)
    for name, spec in conf.signals.items():
        expression = F.when(F.col("signal") == name, F.lit(pick(spec))).otherwise(expression)
    return expression


def signal_tables(documents: DataFrame, rejected: DataFrame, conf: ReportConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(histograms, summary) of the configured signals present in the data.

    Histograms: (signal, part, bin_low, bin_high, count) with every bin of the configured range, empty ones at 0;
    values outside the range fall in the first/last bin; a log signal bins log10(value) and skips values <= 0.
    Summary: (signal, part, count, mean, min, p10, p50, p90, max) with approximate percentiles.
    """
    names = [n for n in conf.signals if n in documents.columns or n in rejected.columns]
    records = _signal_records(documents, rejected, names)
    if records is None:
        return pd.DataFrame(columns=SIGNAL_COLUMNS), pd.DataFrame(columns=SUMMARY_COLUMNS)
    quantiles = F.percentile_approx("value", [0.1, 0.5, 0.9], conf.percentile_accuracy)
    summary = (
        records.groupBy("signal", "part")
        .agg(F.count(F.lit(1)).alias("count"), F.mean("value").alias("mean"), F.min("value").alias("min"),
             quantiles.alias("q"), F.max("value").alias("max"))
        .select("signal", "part", "count", "mean", "min", F.col("q")[0].alias("p10"), F.col("q")[1].alias("p50"),
                F.col("q")[2].alias("p90"), "max")
        .toPandas()
    )
    log = _by_signal(conf, lambda s: s.log)
    low, high, bins = _by_signal(conf, lambda s: s.low), _by_signal(conf, lambda s: s.high), _by_signal(
        conf, lambda s: s.bins
    )
    scaled = F.when(log, F.log10("value")).otherwise(F.col("value"))
    # Multiply before dividing: (0.95 - 0) * 20 / 1 is exactly 19, while 0.95 / 0.05 is 18.999… (wrong bin).
    index = F.least(F.greatest(F.floor((scaled - low) * bins / (high - low)), F.lit(0)), bins - 1).cast("int")
    counts = (
        records.filter(~log | (F.col("value") > 0))
        .groupBy("signal", "part", index.alias("bin"))
        .agg(F.count(F.lit(1)).alias("count"))
        .toPandas()
    )
    return _full_histograms(counts, conf), _ordered(summary, conf)[SUMMARY_COLUMNS]


def _ordered(table: pd.DataFrame, conf: ReportConfig) -> pd.DataFrame:
    rank = {name: i for i, name in enumerate(conf.signals)}
    ranked = table.assign(_rank=table["signal"].map(rank)).sort_values(["_rank", "part"])
    return ranked.drop(columns="_rank").reset_index(drop=True)


def _full_histograms(counts: pd.DataFrame, conf: ReportConfig) -> pd.DataFrame:
    found = {(r.signal, r.part, int(r.bin)): int(r.count) for r in counts.itertuples()}
    rows = []
    for signal, part in sorted({(s, p) for s, p, _ in found}, key=lambda k: (list(conf.signals).index(k[0]), k[1])):
        spec = conf.signals[signal]
        width = (spec.high - spec.low) / spec.bins
        for i in range(spec.bins):
            edges = [spec.low + i * width, spec.low + (i + 1) * width]
            if spec.log:
                edges = [10.0**e for e in edges]
            rows.append({"signal": signal, "part": part, "bin_low": edges[0], "bin_high": edges[1],
                         "count": found.get((signal, part, i), 0)})
    table = pd.DataFrame(rows, columns=SIGNAL_COLUMNS)
    table["count"] = table["count"].astype("int64")
    return table


def pii_totals(documents: DataFrame) -> pd.DataFrame:
    """Per ``pii_<kind>`` count column of the kept documents: replacements and documents with at least one."""
    columns = sorted(c for c in documents.columns if c.startswith(PII_PREFIX)
                     and dict(documents.dtypes)[c] in ("int", "bigint", "smallint", "tinyint"))
    if not columns:
        return pd.DataFrame(columns=PII_COLUMNS)
    aggregates = []
    for c in columns:
        aggregates += [F.sum(c).cast("long").alias(f"{c}__n"), F.count(F.when(F.col(c) > 0, 1)).alias(f"{c}__d")]
    row = documents.agg(*aggregates).collect()[0]
    table = pd.DataFrame(
        [
            {"kind": c.removeprefix(PII_PREFIX), "replacements": int(row[f"{c}__n"] or 0),
             "documents": int(row[f"{c}__d"])}
            for c in columns
        ],
        columns=PII_COLUMNS,
    )
    return table.sort_values(["replacements", "kind"], ascending=[False, True]).reset_index(drop=True)


def tables_of(
    documents: DataFrame, rejected: DataFrame, conf: ReportConfig, records_read: int | None = None
) -> tuple[dict[str, pd.DataFrame], int]:
    """Every report table from the written rows, ``documents`` (kept) and ``rejected``, and the number of records
    read (``records_read``, or kept + rejected when not given)."""
    by_reason, kept = funnel_counts(documents, rejected)
    read = records_read if records_read is not None else kept + sum(by_reason.values())
    histograms, summary = signal_tables(documents, rejected, conf)
    token_table = tokens_by_category(documents)
    tables = {
        "tokens_by_category": token_table,
        "category_coverage": coverage_table(token_table.attrs["category_coverage"]),
        "funnel": funnel_rows(by_reason, kept, read, STAGES),
        "signals": histograms,
        "signal_summary": summary,
    }
    pii = pii_totals(documents)
    if len(pii):
        tables["pii"] = pii
    return tables, read


def build_report(
    spark: SparkSession,
    output: str,
    conf: ReportConfig,
    run_info: Mapping[str, Any] | None = None,
) -> tuple[dict[str, pd.DataFrame], str]:
    """Compute the report of ``<output>`` and write it to ``<output>/reports/``; returns (tables, reports folder).

    ``run_info`` (run_id, stages, records_read, tokenizer…) is shown at the top of report.md and stored in
    report.json. Files are rendered in a local temporary folder, then copied, so remote outputs work too.
    """
    output = output.rstrip("/")
    info = dict(run_info or {})
    documents, rejected = spark.read.parquet(f"{output}/documents"), spark.read.parquet(f"{output}/rejected")
    tables, read = tables_of(documents, rejected, conf, info.get("records_read"))
    info["records_read"] = read
    return tables, write_reports(spark, output, tables, info, conf)


def write_reports(
    spark: SparkSession, output: str, tables: Mapping[str, pd.DataFrame], info: dict[str, Any], conf: ReportConfig
) -> str:
    """Render the tables to ``<output>/reports/`` (in a local temporary folder, then copied, so remote outputs work
    too); returns that folder."""
    output = output.rstrip("/")
    info.setdefault("output", output)
    reports = f"{output}/reports"
    with tempfile.TemporaryDirectory(prefix="cc-refinery-report-") as tmp:
        for path in write_report(Path(tmp), tables, info, conf):
            copy_from_local(spark, str(path), f"{reports}/{path.name}")
    return reports


def apply(frame: DataFrame, context: Any) -> DataFrame:
    """Pipeline hook, called like every stage but after the write: ``frame`` is every row the run wrote
    (``jobs.output.write.read_written``: kept documents with null ``stage``/``reason``, then the rejected rows), and
    ``context.run`` the run's facts (run_id, stages, records_read, tokenizer). Writes ``<output>/reports/`` and
    returns ``frame`` unchanged: the report filters nothing."""
    conf: ReportConfig = context.conf.report
    if not conf.enabled:
        return frame
    kept = F.col("reason").isNull()
    info = dict(context.run)
    tables, info["records_read"] = tables_of(
        frame.where(kept).drop("stage", "reason"), frame.where(~kept), conf, info.get("records_read")
    )
    reports = write_reports(context.spark, context.output, tables, info, conf)
    LOG.info("report written to %s", reports)
    context.results["tokens_by_category"] = tables["tokens_by_category"]
    return frame
