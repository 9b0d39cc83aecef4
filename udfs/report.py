"""The run report: token table by source category × language, the filter funnel and quality-signal distributions.

Everything here works on small pandas tables that Spark has already aggregated (jobs/stages/report.py), so it is
testable on literal tables and reusable from the notebook without Spark. The token table follows the shape of the
token tables in pretraining-data surveys (the CCL-2023 survey of Chinese pretraining data, the Pile's component
table): one row per source category and language with documents, tokens and each row's share of all tokens, then
totals per language and per category.

Plots are built on ``matplotlib.figure.Figure`` objects, never through ``pyplot``, so rendering needs no display
and never changes the backend of the process that imports this module (a notebook keeps its inline backend).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from udfs.errors import ConfigError

TOKEN_COLUMNS = ["category", "lang", "documents", "tokens", "chars", "share"]
FUNNEL_COLUMNS = ["stage", "reason", "documents", "share_of_read"]
SIGNAL_COLUMNS = ["signal", "part", "bin_low", "bin_high", "count"]
SUMMARY_COLUMNS = ["signal", "part", "count", "mean", "min", "p10", "p50", "p90", "max"]
COVERAGE_COLUMNS = ["category_source", "documents", "tokens", "share_of_documents", "share_of_tokens"]
CATEGORY_SOURCES = ("url", "classifier", "none")
"""``category_source`` values in report order: a URL rule, the category classifier, neither (``other``)."""
PII_COLUMNS = ["kind", "replacements", "documents"]
KEPT = "kept"
"""The funnel row of the documents that passed every stage (its ``reason`` is empty)."""


@dataclass(frozen=True)
class SignalHistogram:
    """How one quality signal is binned in ``signals.parquet`` and drawn in ``signals.png``."""

    low: float
    """Lower edge of the first bin (in log10 units when ``log``); smaller values fall in the first bin."""
    high: float
    """Upper edge of the last bin (log10 units when ``log``); larger values fall in the last bin."""
    bins: int = 20
    """Number of equal-width bins between ``low`` and ``high``."""
    log: bool = False
    """Bin log10 of the value (perplexity spans orders of magnitude); non-positive values are left out."""


def _default_signals() -> dict[str, SignalHistogram]:
    return {
        "lang_score": SignalHistogram(0.0, 1.0, 20, False),
        "perplexity": SignalHistogram(0.0, 5.0, 25, True),
        "quality_score": SignalHistogram(0.0, 1.0, 20, False),
    }


@dataclass(frozen=True)
class ReportConfig:
    """``report.*`` in conf."""

    enabled: bool = True
    """Write ``<output>/reports/`` when ``report`` is among the stages run."""
    plots: bool = True
    """Render the PNG plots (the tables and report.md are always written)."""
    top_n: int = 20
    """Rows of the category × language table shown in report.md and printed by the driver; the rest are summed
    into one ``(other rows)`` line. The Parquet table always has every row."""
    top_languages: int = 8
    """Languages drawn as their own colour in the stacked token plot; the others are drawn as ``other``."""
    signals: dict[str, SignalHistogram] = field(default_factory=_default_signals)
    """Quality-signal columns to summarize and their histogram ranges; a column absent from the data is skipped."""
    percentile_accuracy: int = 10000
    """``accuracy`` of Spark's ``percentile_approx`` for the signals' p10/p50/p90 (relative error about 1/accuracy;
    Spark's own default)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> ReportConfig:
        from udfs.config import dataclass_from_dict

        return dataclass_from_dict(cls, data, path)

    def validate(self, path: str) -> None:
        if self.top_n < 1:
            raise ConfigError(f"{path}.top_n: must be >= 1, got {self.top_n}")
        if self.top_languages < 1:
            raise ConfigError(f"{path}.top_languages: must be >= 1, got {self.top_languages}")
        if self.percentile_accuracy < 1:
            raise ConfigError(f"{path}.percentile_accuracy: must be >= 1, got {self.percentile_accuracy}")
        for name, spec in self.signals.items():
            if not spec.low < spec.high:
                raise ConfigError(f"{path}.signals.{name}: low must be < high, got {spec.low} >= {spec.high}")
            if not 1 <= spec.bins <= 1000:
                raise ConfigError(f"{path}.signals.{name}.bins: must be within [1, 1000], got {spec.bins}")


# ---------------------------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------------------------


def with_shares(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (category, lang, documents, tokens, chars) with ``share`` of all tokens, largest first.

    ``tokens`` is null when the run counted no tokens (no ``tokens`` stage); ``share`` is then null too rather than
    a share of something else.
    """
    out = table.copy()
    out["documents"] = out["documents"].astype("int64")
    out["chars"] = out["chars"].fillna(0).astype("int64")
    out["tokens"] = out["tokens"].astype("Int64")
    total = out["tokens"].sum(skipna=True)
    if out["tokens"].isna().all() or not total:
        out["share"] = pd.Series([np.nan] * len(out), index=out.index, dtype="float64")
    else:
        out["share"] = out["tokens"].astype("float64") / float(total)
    order = out.assign(_key=out["tokens"].fillna(-1)).sort_values(
        ["_key", "chars", "category", "lang"], ascending=[False, False, True, True]
    )
    return order.drop(columns="_key").reset_index(drop=True)[TOKEN_COLUMNS]


def coverage_rows(counts: pd.DataFrame) -> pd.DataFrame:
    """Category coverage: per ``category_source`` (url, classifier, none; absent ones at 0) the documents and
    tokens, and their shares of all kept documents and tokens. ``none`` is the documents left at ``other``.

    ``counts`` has (category_source, documents, tokens) as Spark aggregated them; ``tokens`` null when no token was
    counted (the token share is then null too).
    """
    grouped = counts.groupby("category_source", sort=False).agg(
        documents=("documents", "sum"), tokens=("tokens", lambda s: s.sum(min_count=1))
    ) if len(counts) else pd.DataFrame(columns=["documents", "tokens"])
    out = pd.DataFrame({"category_source": list(CATEGORY_SOURCES)})
    out["documents"] = [int(grouped["documents"].get(source, 0)) for source in CATEGORY_SOURCES]
    counted = len(counts) and not counts["tokens"].isna().all()
    tokens = [grouped["tokens"].get(source, 0) if counted else pd.NA for source in CATEGORY_SOURCES]
    out["tokens"] = pd.array([pd.NA if pd.isna(t) else int(t) for t in tokens], dtype="Int64")
    documents, total_tokens = out["documents"].sum(), out["tokens"].sum(min_count=1)
    out["share_of_documents"] = out["documents"] / documents if documents else np.nan
    if counted and total_tokens:
        out["share_of_tokens"] = out["tokens"].astype("float64") / float(total_tokens)
    else:
        out["share_of_tokens"] = np.nan
    return out[COVERAGE_COLUMNS]


def coverage_records(coverage: pd.DataFrame) -> list[dict[str, Any]]:
    """The coverage table as JSON-able records (plain ints and floats, None for missing values)."""
    return _jsonable(coverage)


def coverage_table(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The coverage table back from its records (how it travels in the token table's ``attrs``)."""
    table = pd.DataFrame(list(records), columns=COVERAGE_COLUMNS)
    table["documents"] = table["documents"].astype("int64")
    table["tokens"] = pd.array([pd.NA if t is None else int(t) for t in table["tokens"]], dtype="Int64")
    for name in ("share_of_documents", "share_of_tokens"):
        table[name] = table[name].astype("float64")
    return table


def coverage_markdown(coverage: pd.DataFrame) -> list[str]:
    """The coverage sentence (share of documents and tokens left at ``other``) and the table by source."""
    other = coverage.loc[coverage["category_source"] == "none"].iloc[0]
    documents, tokens = fmt_share(other["share_of_documents"]), fmt_share(other["share_of_tokens"])
    lines = [f"Left at `other` (no URL rule, no confident classifier answer): {documents} of documents, {tokens} of "
             "tokens.", ""]
    rows = [[r["category_source"], fmt_count(r["documents"]), fmt_count(r["tokens"]),
             fmt_share(r["share_of_documents"]), fmt_share(r["share_of_tokens"])] for r in coverage.to_dict("records")]
    header = ["category source", "documents", "tokens", "share of documents", "share of tokens"]
    return lines + markdown_table(header, rows, [False, True, True, True, True])


def coverage_console_lines(coverage: pd.DataFrame) -> list[str]:
    """Coverage as the driver prints it: one line per source."""
    lines = ["  category coverage (share of kept documents / tokens):"]
    for row in coverage.to_dict("records"):
        label = "none (other)" if row["category_source"] == "none" else row["category_source"]
        lines.append(f"    {label:<16} {fmt_count(row['documents']):>10} {fmt_share(row['share_of_documents']):>8} "
                     f"{fmt_count(row['tokens']):>12} {fmt_share(row['share_of_tokens']):>8}")
    return lines


def totals_by(table: pd.DataFrame, key: str) -> pd.DataFrame:
    """Sum of the token table over ``key`` (``lang`` or ``category``): documents, tokens, chars, share."""
    columns = [key, "documents", "tokens", "chars", "share"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    grouped = table.groupby(key, dropna=False, sort=False).agg(
        documents=("documents", "sum"), tokens=("tokens", lambda s: s.sum(min_count=1)), chars=("chars", "sum"),
        share=("share", lambda s: s.sum(min_count=1)),
    )
    grouped = grouped.reset_index()
    grouped["tokens"] = grouped["tokens"].astype("Int64")
    order = grouped.assign(_key=grouped["tokens"].fillna(-1)).sort_values(
        ["_key", "chars", key], ascending=[False, False, True]
    )
    return order.drop(columns="_key").reset_index(drop=True)[columns]


def funnel_rows(by_reason: Mapping[tuple[str, str], int], kept: int, records_read: int,
                stage_order: Sequence[str]) -> pd.DataFrame:
    """stage × reason rejections (stages in pipeline order, reasons by count) plus the ``kept`` row, with the
    share of records read. ``by_reason`` maps (stage, reason) to a count."""
    rank = {stage: i for i, stage in enumerate(stage_order)}
    items = sorted(by_reason.items(), key=lambda item: (rank.get(item[0][0], len(rank)), item[0][0], -item[1],
                                                        item[0][1]))
    rows = [{"stage": stage, "reason": reason, "documents": int(n)} for (stage, reason), n in items]
    rows.append({"stage": KEPT, "reason": "", "documents": int(kept)})
    table = pd.DataFrame(rows, columns=["stage", "reason", "documents"])
    table["documents"] = table["documents"].astype("int64")
    table["share_of_read"] = table["documents"] / records_read if records_read else 0.0
    return table[FUNNEL_COLUMNS]


def stage_funnel_rows(by_reason: Mapping[tuple[str, str], int], records_read: int,
                      stages_run: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The funnel, stage by stage in pipeline order: documents ``in``, ``kept`` (left after it), ``rejected`` and
    its ``reasons`` (reason → count, by name). The one definition behind the manifest's ``funnel``, the console
    summary and the report's stage table.

    Stages with rejections in ``by_reason`` ((stage, reason) → count) are listed, and so are ``stages_run`` that
    rejected nothing (except ``report``, which never rejects); a stage the pipeline does not know comes last.
    """
    from udfs.config import STAGES

    names = {stage for stage, _ in by_reason} | {stage for stage in stages_run if stage != "report"}
    ordered = sorted(names, key=lambda s: (STAGES.index(s) if s in STAGES else len(STAGES), s))
    rows = []
    alive = int(records_read)
    for stage in ordered:
        reasons = {reason: int(n) for (s, reason), n in sorted(by_reason.items()) if s == stage}
        rejected = sum(reasons.values())
        rows.append({"stage": stage, "in": alive, "kept": alive - rejected, "rejected": rejected, "reasons": reasons})
        alive -= rejected
    return rows


def stage_funnel(funnel: pd.DataFrame, records_read: int, stages_run: Sequence[str] = ()) -> pd.DataFrame:
    """:func:`stage_funnel_rows` of a ``funnel.parquet`` table (stage, reason, documents) as a table: stage, in,
    rejected, left and the share of records read left."""
    rejected = funnel[funnel["stage"] != KEPT]
    by_reason = {(r["stage"], r["reason"]): int(r["documents"]) for r in rejected.to_dict("records")}
    rows = [{"stage": r["stage"], "in": r["in"], "rejected": r["rejected"], "left": r["kept"]}
            for r in stage_funnel_rows(by_reason, records_read, stages_run)]
    table = pd.DataFrame(rows, columns=["stage", "in", "rejected", "left"])
    table["left_share"] = table["left"] / records_read if records_read else 0.0
    return table


# ---------------------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------------------


def fmt_count(value: Any) -> str:
    """``12,345``; a missing count reads ``–``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{int(value):,}"


def fmt_share(value: Any) -> str:
    """A fraction as a percentage with two decimals; a missing share reads ``–``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * float(value):.2f}%"


def fmt_number(value: Any) -> str:
    """A signal value: 4 significant digits."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):.4g}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> list[str]:
    """A GitHub-flavoured Markdown table; ``right`` says which columns are numbers (right-aligned)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def _token_row(first: str, second: str, row: Mapping[str, Any]) -> list[str]:
    return [first, second, fmt_count(row["documents"]), fmt_count(row["tokens"]), fmt_count(row["chars"]),
            fmt_share(row["share"])]


def _sum_row(part: pd.DataFrame) -> dict[str, Any]:
    tokens = part["tokens"].sum(min_count=1) if len(part) else pd.NA
    share = part["share"].sum(min_count=1) if len(part) else np.nan
    return {"documents": part["documents"].sum(), "tokens": tokens, "chars": part["chars"].sum(), "share": share}


def token_markdown(table: pd.DataFrame, top_n: int) -> list[str]:
    """The category × language table: the ``top_n`` largest rows, the rest summed, then the total."""
    header = ["category", "language", "documents", "tokens", "characters", "share of tokens"]
    right = [False, False, True, True, True, True]
    rows = [_token_row(r["category"], r["lang"], r) for r in table.head(top_n).to_dict("records")]
    rest = table.iloc[top_n:]
    if len(rest):
        rows.append(_token_row(f"({len(rest)} other rows)", "", _sum_row(rest)))
    rows.append(_token_row("**total**", "", _sum_row(table)))
    return markdown_table(header, rows, right)


def matrix_markdown(table: pd.DataFrame, top_languages: int) -> list[str]:
    """Categories as rows, languages as columns (the largest ``top_languages``, the rest summed), tokens in the
    cells (characters when no tokens were counted), totals on the right and at the bottom."""
    measure = "chars" if table["tokens"].isna().all() else "tokens"
    values = table.assign(value=table[measure].fillna(0).astype("int64"))
    languages = list(values.groupby("lang")["value"].sum().sort_values(ascending=False, kind="stable").index)
    shown = languages[:top_languages]
    rest = "other languages"
    values["column"] = values["lang"].where(values["lang"].isin(shown), rest)
    pivot = values.pivot_table(index="category", columns="column", values="value", aggfunc="sum", fill_value=0)
    pivot = pivot[[c for c in [*shown, rest] if c in pivot.columns]]
    pivot["total"] = pivot.sum(axis=1)
    pivot = pivot.sort_values("total", ascending=False, kind="stable")
    pivot.loc["**total**"] = pivot.sum(axis=0)
    header = ["category", *[str(c) for c in pivot.columns]]
    rows = [[str(name), *[fmt_count(v) for v in row]] for name, row in zip(pivot.index, pivot.to_numpy(), strict=True)]
    return markdown_table(header, rows, [False] + [True] * len(pivot.columns))


def totals_markdown(totals: pd.DataFrame, key: str, label: str, top_n: int) -> list[str]:
    header = [label, "documents", "tokens", "characters", "share of tokens"]
    rows = [_token_row(r[key], "", r)[:1] + _token_row("", "", r)[2:] for r in totals.head(top_n).to_dict("records")]
    rest = totals.iloc[top_n:]
    if len(rest):
        rows.append([f"({len(rest)} others)", *_token_row("", "", _sum_row(rest))[2:]])
    return markdown_table(header, rows, [False, True, True, True, True])


def funnel_markdown(funnel: pd.DataFrame, records_read: int, stages_run: Sequence[str] = ()) -> list[str]:
    stages = stage_funnel(funnel, records_read, stages_run)
    lines = markdown_table(
        ["stage", "in", "rejected", "left", "left / read"],
        [[r["stage"], fmt_count(r["in"]), fmt_count(r["rejected"]), fmt_count(r["left"]), fmt_share(r["left_share"])]
         for r in stages.to_dict("records")],
        [False, True, True, True, True],
    )
    lines += [""]
    lines += markdown_table(
        ["stage", "reason", "documents", "% of read"],
        [[r["stage"], r["reason"] or "–", fmt_count(r["documents"]), fmt_share(r["share_of_read"])]
         for r in funnel.to_dict("records")],
        [False, False, True, True],
    )
    return lines


def summary_markdown(summary: pd.DataFrame) -> list[str]:
    rows = []
    for r in summary.to_dict("records"):
        part = "kept" if r["part"] == "documents" else r["part"]
        rows.append([r["signal"], part, fmt_count(r["count"]), *[fmt_number(r[c]) for c in SUMMARY_COLUMNS[3:]]])
    header = ["signal", "records", "count", "mean", "min", "p10", "median", "p90", "max"]
    return markdown_table(header, rows, [False, False, True, True, True, True, True, True, True])


def pii_markdown(pii: pd.DataFrame) -> list[str]:
    return markdown_table(
        ["kind", "replacements", "documents with any"],
        [[r["kind"], fmt_count(r["replacements"]), fmt_count(r["documents"])] for r in pii.to_dict("records")],
        [False, True, True],
    )


def render_markdown(tables: Mapping[str, pd.DataFrame], run_info: Mapping[str, Any], conf: ReportConfig,
                    images: Sequence[str] = ()) -> str:
    """report.md: run facts, the token table, per-language and per-category totals, the funnel, signals, PII."""
    tokens = tables["tokens_by_category"]
    funnel = tables["funnel"]
    read = int(run_info.get("records_read") or funnel["documents"].sum())
    lines = [f"# cc-refinery report — run {run_info.get('run_id', '?')}", ""]
    facts = [("output", run_info.get("output")), ("stages", ", ".join(run_info.get("stages") or [])),
             ("tokenizer", run_info.get("tokenizer")), ("records read", fmt_count(read)),
             ("documents kept", fmt_count(tokens["documents"].sum())),
             ("tokens kept", fmt_count(tokens["tokens"].sum(min_count=1)))]
    lines += [f"- {name}: {value}" for name, value in facts if value not in (None, "")]
    lines += ["", "## Tokens by source category and language", ""]
    if tokens["tokens"].isna().all():
        lines += ["No token counts in this run (the `tokens` stage did not run): documents and characters only.", ""]
    lines += token_markdown(tokens, conf.top_n)
    if len(tokens):
        counted = "tokens" if not tokens["tokens"].isna().all() else "characters"
        lines += ["", f"### Category × language ({counted})", "", *matrix_markdown(tokens, conf.top_languages)]
    lines += ["", "### By language", "", *totals_markdown(totals_by(tokens, "lang"), "lang", "language", conf.top_n)]
    lines += ["", "### By category", ""]
    lines += totals_markdown(totals_by(tokens, "category"), "category", "category", conf.top_n)
    coverage = tables.get("category_coverage")
    if coverage is not None and len(coverage):
        lines += ["", "### Category coverage", "", *coverage_markdown(coverage)]
    lines += ["", "## Filter funnel", "", f"Of {fmt_count(read)} records read:", ""]
    lines += funnel_markdown(funnel, read, run_info.get("stages") or ())
    summary = tables.get("signal_summary")
    if summary is not None and len(summary):
        lines += ["", "## Quality signals", "", "Over kept documents and rejected records that carry the signal "
                  "(`signals.parquet` has the histograms).", ""]
        lines += summary_markdown(summary)
    pii = tables.get("pii")
    if pii is not None and len(pii):
        lines += ["", "## Personal information replaced (kept documents)", "", *pii_markdown(pii)]
    if images:
        lines += ["", "## Plots", ""] + [f"![{Path(name).stem}]({name})" for name in images]
    return "\n".join(lines) + "\n"


def token_console_lines(table: pd.DataFrame, top_n: int) -> list[str]:
    """The token table as the driver prints it: top rows, then the per-language totals and the grand total."""
    label = "tokens" if not table["tokens"].isna().all() else "tokens (not counted)"
    lines = [f"  tokens by category × language (top {min(top_n, len(table))} of {len(table)} rows):",
             f"    {'category':<16} {'lang':<6} {'documents':>10} {label:>12} {'chars':>14} {'share':>8}"]
    for row in table.head(top_n).to_dict("records"):
        lines.append(f"    {row['category']:<16} {row['lang']:<6} {fmt_count(row['documents']):>10} "
                     f"{fmt_count(row['tokens']):>12} {fmt_count(row['chars']):>14} {fmt_share(row['share']):>8}")
    for row in totals_by(table, "lang").head(top_n).to_dict("records"):
        lines.append(f"    {'(all)':<16} {row['lang']:<6} {fmt_count(row['documents']):>10} "
                     f"{fmt_count(row['tokens']):>12} {fmt_count(row['chars']):>14} {fmt_share(row['share']):>8}")
    total = _sum_row(table)
    lines.append(f"    {'total':<16} {'':<6} {fmt_count(total['documents']):>10} {fmt_count(total['tokens']):>12} "
                 f"{fmt_count(total['chars']):>14} {fmt_share(total['share']):>8}")
    coverage = table.attrs.get("category_coverage")  # records set by jobs/stages/report.py tokens_by_category
    if coverage is not None:
        lines += coverage_console_lines(coverage_table(coverage))
    return lines


# ---------------------------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------------------------


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def tokens_figure(table: pd.DataFrame, top_languages: int = 8) -> Any:
    """Stacked bars: tokens (characters when no tokens were counted) per category, one colour per language."""
    counted = not table["tokens"].isna().all()
    measure = "tokens" if counted else "chars"
    figure = _figure(9, 4.5)
    axes = figure.add_subplot()
    if table.empty:
        axes.text(0.5, 0.5, "no documents kept", ha="center", va="center", transform=axes.transAxes)
        return figure
    values = table.assign(value=table[measure].fillna(0).astype("float64"))
    languages = values.groupby("lang")["value"].sum().sort_values(ascending=False)
    shown = list(languages.index[:top_languages])
    values["lang"] = values["lang"].where(values["lang"].isin(shown), "other")
    pivot = values.pivot_table(index="category", columns="lang", values="value", aggfunc="sum", fill_value=0.0)
    pivot = pivot.loc[pivot.sum(axis=1).sort_values(ascending=False).index]
    pivot = pivot[[c for c in [*shown, "other"] if c in pivot.columns]]
    bottom = np.zeros(len(pivot))
    for lang in pivot.columns:
        axes.bar(pivot.index.astype(str), pivot[lang].to_numpy(), bottom=bottom, label=str(lang))
        bottom += pivot[lang].to_numpy()
    axes.set_ylabel(measure if counted else "characters (no token counts in this run)")
    axes.set_title(f"{'Tokens' if counted else 'Characters'} by source category and language")
    axes.legend(title="language", fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes.tick_params(axis="x", labelrotation=30)
    axes.yaxis.set_major_formatter("{x:,.0f}")
    return figure


def funnel_figure(funnel: pd.DataFrame, records_read: int, stages_run: Sequence[str] = (),
                  top_reasons: int = 12) -> Any:
    """Left: records left after each stage (share of read). Right: the largest rejection reasons."""
    figure = _figure(11, 4.5)
    left, right = figure.subplots(1, 2)
    stages = stage_funnel(funnel, records_read, stages_run)
    names = ["read", *stages["stage"].tolist()]
    counts = [records_read, *stages["left"].tolist()]
    left.barh(names[::-1], counts[::-1], color="tab:blue")
    for y, n in enumerate(counts[::-1]):
        left.text(n, y, f" {n:,} ({100 * n / records_read:.1f}%)" if records_read else f" {n:,}", va="center",
                  fontsize="small")
    left.set_title("Records left after each stage")
    left.set_xlim(0, max([*counts, 1]) * 1.35)
    reasons = funnel[funnel["stage"] != KEPT].sort_values("documents", ascending=False).head(top_reasons)
    if reasons.empty:
        right.text(0.5, 0.5, "nothing rejected", ha="center", va="center", transform=right.transAxes)
    else:
        right.barh(reasons["reason"].tolist()[::-1], reasons["documents"].tolist()[::-1], color="tab:red")
        right.set_title("Rejections by reason")
    right.tick_params(axis="y", labelsize="small")
    return figure


def signals_figure(signals: pd.DataFrame, conf: ReportConfig) -> Any:
    """One histogram per signal present; kept documents and rejected records stacked; perplexity on a log axis."""
    names = [name for name in conf.signals if name in set(signals["signal"])]
    figure = _figure(max(4.0 * len(names), 4.0), 3.5)
    if not names:
        axes = figure.add_subplot()
        axes.text(0.5, 0.5, "no quality signals in this run", ha="center", va="center", transform=axes.transAxes)
        return figure
    for axes, name in zip(np.atleast_1d(figure.subplots(1, len(names))), names, strict=True):
        spec = conf.signals[name]
        part = signals[signals["signal"] == name]
        bottom: dict[float, float] = {}
        for label, color in (("documents", "tab:green"), ("rejected", "tab:gray")):
            rows = part[part["part"] == label].sort_values("bin_low")
            if rows.empty:
                continue
            lows, highs, heights = rows["bin_low"].to_numpy(), rows["bin_high"].to_numpy(), rows["count"].to_numpy()
            base = np.array([bottom.get(low, 0.0) for low in lows])
            axes.bar(lows, heights, width=highs - lows, bottom=base, align="edge", color=color,
                     label="kept" if label == "documents" else "rejected", edgecolor="white", linewidth=0.3)
            for low, height, b in zip(lows, heights, base, strict=True):
                bottom[low] = b + height
        if spec.log:
            axes.set_xscale("log")
        axes.set_title(name + (" (log scale)" if spec.log else ""))
        axes.set_ylabel("records")
        axes.legend(fontsize="small")
    return figure


# ---------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------


def _jsonable(table: pd.DataFrame) -> list[dict[str, Any]]:
    records = table.astype(object).where(table.notna(), None).to_dict("records")
    return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()} for r in records]


def write_report(directory: Path, tables: Mapping[str, pd.DataFrame], run_info: Mapping[str, Any],
                 conf: ReportConfig) -> list[Path]:
    """Write every table as ``<name>.parquet``, ``report.json``, the PNG plots and ``report.md`` into ``directory``.

    Returns the files written (the stage copies them to the output, which may be remote).
    """
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, table in tables.items():
        path = directory / f"{name}.parquet"
        table.to_parquet(path, index=False)
        written.append(path)
    images: list[str] = []
    if conf.plots:
        read = int(run_info.get("records_read") or tables["funnel"]["documents"].sum())
        figures = {
            "tokens_by_category.png": tokens_figure(tables["tokens_by_category"], conf.top_languages),
            "funnel.png": funnel_figure(tables["funnel"], read, run_info.get("stages") or ()),
        }
        if "signals" in tables and len(tables["signals"]):
            figures["signals.png"] = signals_figure(tables["signals"], conf)
        for name, figure in figures.items():
            figure.savefig(directory / name, dpi=110)
            written.append(directory / name)
            images.append(name)
    report_json = {"run": dict(run_info), **{name: _jsonable(table) for name, table in tables.items()}}
    (directory / "report.json").write_text(json.dumps(report_json, indent=2, default=str) + "\n", encoding="utf-8")
    (directory / "report.md").write_text(render_markdown(tables, run_info, conf, images), encoding="utf-8")
    return [*written, directory / "report.json", directory / "report.md"]
