"""The run report: udfs/report.py on literal tables, jobs/stages/report.py on a small written output."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO_ROOT
from udfs.config import STAGES, deep_merge
from udfs.errors import ConfigError
from udfs.report import (
    ReportConfig,
    SignalHistogram,
    funnel_rows,
    matrix_markdown,
    render_markdown,
    stage_funnel,
    stage_funnel_rows,
    token_console_lines,
    token_markdown,
    totals_by,
    with_shares,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def raw_tokens(tokens: list[Any] | None = None) -> pd.DataFrame:
    """category × lang aggregates as Spark hands them over (unsorted, no share)."""
    return pd.DataFrame(
        {
            "category": ["news", "encyclopedia", "other", "news"],
            "lang": ["zh", "zh", "en", "en"],
            "documents": [1, 2, 1, 1],
            "tokens": tokens if tokens is not None else [30, 150, 20, 200],
            "chars": [40, 230, 100, 900],
        }
    )


# ---------------------------------------------------------------------------------------------------------------
# Pure: tables
# ---------------------------------------------------------------------------------------------------------------


def test_shares_sum_to_one_and_rows_sort_by_tokens() -> None:
    table = with_shares(raw_tokens())
    assert table[["category", "lang"]].values.tolist() == [
        ["news", "en"],
        ["encyclopedia", "zh"],
        ["news", "zh"],
        ["other", "en"],
    ]
    assert table["share"].tolist() == [0.5, 0.375, 0.075, 0.05]
    assert math.isclose(table["share"].sum(), 1.0)


def test_without_token_counts_share_is_missing_not_zero() -> None:
    table = with_shares(raw_tokens([None, None, None, None]))
    assert table["tokens"].isna().all() and table["share"].isna().all()
    # Sorted by characters when there are no tokens.
    assert table["chars"].tolist() == [900, 230, 100, 40]
    assert token_markdown(table, 20)[-1] == "| **total** |  | 5 | – | 1,270 | – |"


def test_totals_by_language_and_category() -> None:
    table = with_shares(raw_tokens())
    by_lang = totals_by(table, "lang")
    assert by_lang.to_dict("records") == [
        {"lang": "en", "documents": 2, "tokens": 220, "chars": 1000, "share": 0.55},
        {"lang": "zh", "documents": 3, "tokens": 180, "chars": 270, "share": 0.45},
    ]
    by_category = totals_by(table, "category")
    assert by_category["category"].tolist() == ["news", "encyclopedia", "other"]
    assert by_category["tokens"].tolist() == [230, 150, 20]


def test_token_markdown_rows_top_n_rest_and_total() -> None:
    lines = token_markdown(with_shares(raw_tokens()), top_n=2)
    assert lines == [
        "| category | language | documents | tokens | characters | share of tokens |",
        "|---|---|---:|---:|---:|---:|",
        "| news | en | 1 | 200 | 900 | 50.00% |",
        "| encyclopedia | zh | 2 | 150 | 230 | 37.50% |",
        "| (2 other rows) |  | 2 | 50 | 140 | 12.50% |",
        "| **total** |  | 5 | 400 | 1,270 | 100.00% |",
    ]


def test_matrix_has_categories_by_languages_with_totals() -> None:
    assert matrix_markdown(with_shares(raw_tokens()), top_languages=1) == [
        "| category | en | other languages | total |",
        "|---|---:|---:|---:|",
        "| news | 200 | 30 | 230 |",
        "| encyclopedia | 0 | 150 | 150 |",
        "| other | 20 | 0 | 20 |",
        "| **total** | 220 | 180 | 400 |",
    ]


def test_funnel_rows_follow_stage_order_then_count() -> None:
    by_reason = {
        ("dedup", "dedup:exact"): 1,
        ("langid", "langid:low_score"): 2,
        ("ingest", "ingest:truncated_record"): 1,
        ("ingest", "ingest:duplicate_record_id"): 3,
    }
    funnel = funnel_rows(by_reason, kept=5, records_read=12, stage_order=STAGES)
    assert funnel[["stage", "reason", "documents"]].values.tolist() == [
        ["ingest", "ingest:duplicate_record_id", 3],
        ["ingest", "ingest:truncated_record", 1],
        ["langid", "langid:low_score", 2],
        ["dedup", "dedup:exact", 1],
        ["kept", "", 5],
    ]
    assert funnel["share_of_read"].tolist() == [3 / 12, 1 / 12, 2 / 12, 1 / 12, 5 / 12]
    assert math.isclose(funnel["share_of_read"].sum(), 1.0)
    stages = stage_funnel(funnel, 12, ["ingest", "normalize", "langid", "dedup", "report"])
    assert stages[["stage", "in", "rejected", "left"]].values.tolist() == [
        ["ingest", 12, 4, 8],
        ["normalize", 8, 0, 8],
        ["langid", 8, 2, 6],
        ["dedup", 6, 1, 5],
    ]
    # The manifest's funnel is the same definition, with each stage's reasons by name.
    assert stage_funnel_rows(by_reason, 12, ["ingest", "normalize", "langid", "dedup", "report"]) == [
        {"stage": "ingest", "in": 12, "kept": 8, "rejected": 4,
         "reasons": {"ingest:duplicate_record_id": 3, "ingest:truncated_record": 1}},
        {"stage": "normalize", "in": 8, "kept": 8, "rejected": 0, "reasons": {}},
        {"stage": "langid", "in": 8, "kept": 6, "rejected": 2, "reasons": {"langid:low_score": 2}},
        {"stage": "dedup", "in": 6, "kept": 5, "rejected": 1, "reasons": {"dedup:exact": 1}},
    ]


def test_markdown_report_has_the_tables() -> None:
    funnel = funnel_rows({("ingest", "ingest:truncated_record"): 1}, kept=5, records_read=6, stage_order=STAGES)
    tables = {"tokens_by_category": with_shares(raw_tokens()), "funnel": funnel}
    text = render_markdown(tables, {"run_id": "r1", "records_read": 6, "stages": ["ingest"]}, ReportConfig())
    lines = text.splitlines()
    assert lines[0] == "# cc-refinery report — run r1"
    assert "- tokens kept: 400" in lines
    assert "| zh | 3 | 180 | 270 | 45.00% |" in lines
    assert "| ingest | ingest:truncated_record | 1 | 16.67% |" in lines
    assert "| kept | – | 5 | 83.33% |" in lines
    assert "| ingest | 6 | 1 | 5 | 83.33% |" in lines
    assert "## Quality signals" not in text  # no signal table given


def test_console_lines_show_top_rows_and_totals() -> None:
    lines = token_console_lines(with_shares(raw_tokens()), top_n=2)
    assert lines[0] == "  tokens by category × language (top 2 of 4 rows):"
    assert lines[2].split() == ["news", "en", "1", "200", "900", "50.00%"]
    assert lines[3].split() == ["encyclopedia", "zh", "2", "150", "230", "37.50%"]
    assert [line.split() for line in lines[4:6]] == [
        ["(all)", "en", "2", "220", "1,000", "55.00%"],
        ["(all)", "zh", "3", "180", "270", "45.00%"],
    ]
    assert len(lines) == 7
    assert lines[-1].split() == ["total", "5", "400", "1,270", "100.00%"]


def test_write_report_writes_tables_json_markdown_and_pngs(tmp_path: Path) -> None:
    funnel = funnel_rows({("langid", "langid:low_score"): 2}, kept=5, records_read=7, stage_order=STAGES)
    signals = pd.DataFrame(
        {
            "signal": ["lang_score", "lang_score", "perplexity"],
            "part": ["documents", "rejected", "documents"],
            "bin_low": [0.9, 0.3, 100.0],
            "bin_high": [0.95, 0.35, 158.5],
            "count": [5, 2, 5],
        }
    )
    tables = {"tokens_by_category": with_shares(raw_tokens()), "funnel": funnel, "signals": signals}
    written = write_report(tmp_path, tables, {"run_id": "r1", "records_read": 7}, ReportConfig())
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "tokens_by_category.parquet",
            "funnel.parquet",
            "signals.parquet",
            "report.json",
            "report.md",
            "tokens_by_category.png",
            "funnel.png",
            "signals.png",
        ]
    )
    for png in ("tokens_by_category.png", "funnel.png", "signals.png"):
        data = (tmp_path / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "funnel.parquet"), funnel)
    stored = json.loads((tmp_path / "report.json").read_text())
    assert stored["run"] == {"run_id": "r1", "records_read": 7}
    assert stored["tokens_by_category"][0] == {
        "category": "news",
        "lang": "en",
        "documents": 1,
        "tokens": 200,
        "chars": 900,
        "share": 0.5,
    }
    assert "![funnel](funnel.png)" in (tmp_path / "report.md").read_text()


def test_plots_off_writes_no_png(tmp_path: Path) -> None:
    funnel = funnel_rows({}, kept=5, records_read=5, stage_order=STAGES)
    written = write_report(
        tmp_path, {"tokens_by_category": with_shares(raw_tokens()), "funnel": funnel}, {}, ReportConfig(plots=False)
    )
    assert not [p for p in written if p.suffix == ".png"] and not list(tmp_path.glob("*.png"))


def test_conf_file_matches_code_defaults_and_is_validated() -> None:
    # Only conf/report.yaml: the other sections belong to other stages.
    section = yaml.safe_load((REPO_ROOT / "conf" / "report.yaml").read_text())["report"]
    assert ReportConfig.from_dict(section, "report") == ReportConfig()
    with pytest.raises(ConfigError, match=r"report\.signals\.perplexity: low must be < high"):
        ReportConfig.from_dict(deep_merge(section, {"signals": {"perplexity": {"low": 6}}}), "report")
    with pytest.raises(ConfigError, match=r"report\.top_n: must be >= 1"):
        ReportConfig.from_dict(deep_merge(section, {"top_n": 0}), "report")
    with pytest.raises(ConfigError, match=r"report\.signals\.lang_score\.bins: must be within"):
        ReportConfig.from_dict(deep_merge(section, {"signals": {"lang_score": {"bins": 0}}}), "report")
    extra = ReportConfig.from_dict(
        deep_merge(section, {"signals": {"my_score": {"low": 0, "high": 10, "bins": 5}}}), "report"
    )
    assert extra.signals["my_score"] == SignalHistogram(0.0, 10.0, 5, False)


# ---------------------------------------------------------------------------------------------------------------
# Spark: the stage on a small written output
# ---------------------------------------------------------------------------------------------------------------

DOCUMENT_SCHEMA = (
    "id string, text string, lang string, category string, n_tokens bigint, n_chars bigint, lang_score double, "
    "perplexity double, quality_score double, pii_email int, pii_phone int"
)
DOCUMENTS = [
    ("d1", "a", "zh", "encyclopedia", 100, 150, 0.99, 120.0, 0.9, 1, 0),
    ("d2", "b", "zh", "encyclopedia", 50, 80, 0.96, 300.0, 0.8, 0, 2),
    ("d3", "c", "zh", "news", 30, 40, 0.7, 1500.0, 0.5, 0, 0),
    ("d4", "d", "en", "news", 200, 900, 0.9, 50.0, 0.7, 2, 0),
    ("d5", "e", "en", None, 20, 100, 0.66, None, None, 0, 0),
]
REJECTED_SCHEMA = (
    "id string, text string, lang string, lang_score double, perplexity double, stage string, reason string"
)
REJECTED = [
    ("r1", "x", None, None, None, "ingest", "ingest:truncated_record"),
    ("r2", "y", "zh", 0.3, None, "langid", "langid:low_score"),
    ("r3", "z", "en", 0.5, None, "langid", "langid:low_score"),
    ("r4", "w", "zh", 0.97, 200.0, "dedup", "dedup:exact"),
]


def write_output(
    spark: Any, output: Path, documents: list[tuple] | None = None, schema: str = DOCUMENT_SCHEMA
) -> None:
    """documents/ partitioned by lang and rejected/ by stage, as the pipeline writes them."""
    spark.createDataFrame(documents or DOCUMENTS, schema).write.partitionBy("lang").parquet(f"{output}/documents")
    spark.createDataFrame(REJECTED, REJECTED_SCHEMA).write.partitionBy("stage").parquet(f"{output}/rejected")


@pytest.fixture(scope="module")
def small_report(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    from jobs.stages.report import build_report

    output = tmp_path_factory.mktemp("report") / "out"
    write_output(spark, output)
    tables, reports = build_report(spark, str(output), ReportConfig(), {"run_id": "t", "stages": list(STAGES)})
    assert reports == f"{output}/reports"
    return output, tables


@pytest.mark.spark
def test_token_table_equals_a_direct_group_by(spark: Any, small_report: tuple[Path, dict]) -> None:
    output, tables = small_report
    expected = pd.DataFrame(
        {
            "category": ["news", "encyclopedia", "news", "other"],
            "lang": ["en", "zh", "zh", "en"],
            "documents": [1, 2, 1, 1],
            "tokens": pd.array([200, 150, 30, 20], dtype="Int64"),
            "chars": [900, 230, 40, 100],
            "share": [0.5, 0.375, 0.075, 0.05],
        }
    )
    pd.testing.assert_frame_equal(tables["tokens_by_category"], expected)
    spark.read.parquet(f"{output}/documents").createOrReplaceTempView("report_documents")
    direct = spark.sql(
        "SELECT coalesce(category, 'other') AS category, lang, count(*) AS documents, sum(n_tokens) AS tokens, "
        "sum(n_chars) AS chars FROM report_documents GROUP BY 1, 2 ORDER BY tokens DESC"
    ).toPandas()
    assert direct.values.tolist() == expected.drop(columns="share").values.tolist()
    stored = pd.read_parquet(output / "reports" / "tokens_by_category.parquet")
    pd.testing.assert_frame_equal(stored, expected)


@pytest.mark.spark
def test_funnel_and_signals_from_the_written_data(spark: Any, small_report: tuple[Path, dict]) -> None:
    output, tables = small_report
    assert tables["funnel"].values.tolist() == [
        ["ingest", "ingest:truncated_record", 1, 1 / 9],
        ["langid", "langid:low_score", 2, 2 / 9],
        ["dedup", "dedup:exact", 1, 1 / 9],
        ["kept", "", 5, 5 / 9],
    ]
    direct = spark.read.parquet(f"{output}/rejected").groupBy("stage", "reason").count().toPandas()
    assert dict(zip(direct["reason"], direct["count"], strict=True)) == dict(
        zip(tables["funnel"]["reason"][:-1], tables["funnel"]["documents"][:-1], strict=True)
    )

    signals = tables["signals"]
    assert set(zip(signals["signal"], signals["part"], strict=True)) == {
        ("lang_score", "documents"),
        ("lang_score", "rejected"),
        ("perplexity", "documents"),
        ("perplexity", "rejected"),
        ("quality_score", "documents"),
    }
    nonzero = signals[signals["count"] > 0]

    def bins(signal: str, part: str) -> dict[float, int]:
        rows = nonzero[(nonzero["signal"] == signal) & (nonzero["part"] == part)]
        return {round(low, 2): int(n) for low, n in zip(rows["bin_low"], rows["count"], strict=True)}

    assert bins("lang_score", "documents") == {0.65: 1, 0.7: 1, 0.9: 1, 0.95: 2}
    assert bins("lang_score", "rejected") == {0.3: 1, 0.5: 1, 0.95: 1}  # r1 has no score
    # log10 bins of width 0.2: 50 → [39.81, 63.1), 120 → [100, 158.49), 300 → [251.19, 398.11), 1500 → [1000, 1584.9)
    assert bins("perplexity", "documents") == {39.81: 1, 100.0: 1, 251.19: 1, 1000.0: 1}
    assert len(signals[(signals["signal"] == "lang_score") & (signals["part"] == "documents")]) == 20

    summary = tables["signal_summary"].set_index(["signal", "part"])
    kept_scores = summary.loc[("lang_score", "documents")]
    assert kept_scores["count"] == 5 and kept_scores["p50"] == 0.9 and kept_scores["min"] == 0.66
    assert math.isclose(kept_scores["mean"], 0.842)
    assert tables["pii"].values.tolist() == [["email", 3, 2], ["phone", 2, 1]]


@pytest.mark.spark
def test_report_files_are_written(small_report: tuple[Path, dict]) -> None:
    output, tables = small_report
    reports = output / "reports"
    for name in tables:
        pd.testing.assert_frame_equal(pd.read_parquet(reports / f"{name}.parquet"), tables[name])
    for png in ("tokens_by_category.png", "funnel.png", "signals.png"):
        assert (reports / png).read_bytes().startswith(PNG_MAGIC)
    text = (reports / "report.md").read_text()
    assert "| news | en | 1 | 200 | 900 | 50.00% |" in text
    assert "| email | 3 | 2 |" in text
    assert "| lang_score | kept | 5 | 0.842 | 0.66 |" in text


@pytest.mark.spark
def test_missing_optional_columns(spark: Any, tmp_path: Path) -> None:
    """Without category, n_tokens and n_chars: one ``other`` category, tokens null, characters from the text."""
    from jobs.stages.report import build_report

    documents = [("d1", "abc", "zh"), ("d2", "hello world", "en"), ("d3", "xy", "en")]
    write_output(spark, tmp_path, documents, "id string, text string, lang string")
    tables, _ = build_report(spark, str(tmp_path), ReportConfig(plots=False))
    table = tables["tokens_by_category"]
    assert table[["category", "lang", "documents", "chars"]].values.tolist() == [
        ["other", "en", 2, 13],
        ["other", "zh", 1, 3],
    ]
    assert table["tokens"].isna().all() and table["share"].isna().all()
    assert "pii" not in tables
    assert set(tables["signals"]["part"]) == {"rejected"}  # only rejected/ carries lang_score here
    assert "No token counts in this run" in (tmp_path / "reports" / "report.md").read_text()


@pytest.mark.spark
def test_hadoop_copy_writes_through_the_hadoop_filesystem(spark: Any, tmp_path: Path) -> None:
    """The path remote outputs (s3://, gs://, hdfs://) take, exercised with Hadoop's own file:// filesystem."""
    from jobs.filesystem import hadoop_copy_from_local

    source = tmp_path / "report.md"
    source.write_text("# report\n", encoding="utf-8")
    hadoop_copy_from_local(spark, str(source), f"file://{tmp_path}/remote/reports/report.md")
    assert (tmp_path / "remote" / "reports" / "report.md").read_text(encoding="utf-8") == "# report\n"


def test_driver_summary_prints_the_token_table_after_the_funnel(capsys: pytest.CaptureFixture[str]) -> None:
    from jobs.pipeline import print_summary

    manifest = {
        "run_id": "r1", "status": "ok",
        "totals": {"inputs": 1, "failed_inputs": 0, "records_read": 6, "kept": 5, "rejected": 1, "invariant_ok": True},
        "funnel": [{"stage": "ingest", "in": 6, "kept": 5, "rejected": 1, "reasons": {"ingest:truncated_record": 1}}],
        "inputs": [],
        "outputs": {"documents": "o/documents", "rejected": "o/rejected", "reports": "o/reports"},
    }
    print_summary(manifest, "o/_manifest.json", with_shares(raw_tokens()), top_n=20)
    lines = capsys.readouterr().out.splitlines()
    funnel_at = next(i for i, line in enumerate(lines) if "ingest:truncated_record" in line)
    table_at = lines.index("  tokens by category × language (top 4 of 4 rows):")
    assert table_at > funnel_at
    assert lines[table_at + 2].split() == ["news", "en", "1", "200", "900", "50.00%"]
    assert "  reports:   o/reports" in lines


def test_a_run_that_kept_nothing_still_renders(tmp_path: Path) -> None:
    empty = pd.DataFrame({"category": [], "lang": [], "documents": [], "tokens": [], "chars": []})
    funnel = funnel_rows({("langid", "langid:low_score"): 3}, kept=0, records_read=3, stage_order=STAGES)
    tables = {"tokens_by_category": with_shares(empty), "funnel": funnel}
    write_report(tmp_path, tables, {"records_read": 3}, ReportConfig())
    lines = (tmp_path / "report.md").read_text().splitlines()
    assert "| **total** |  | 0 | – | 0 | – |" in lines
    assert "| langid | 3 | 3 | 0 | 0.00% |" in lines
    assert (tmp_path / "tokens_by_category.png").read_bytes().startswith(PNG_MAGIC)
