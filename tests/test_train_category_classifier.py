"""The category classifier: decisions on a tiny literal model, the training job end to end on a small bench/corpus.py
crawl (distant supervision from the URL rules, whole sites held out), then pipeline runs that apply the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from udfs.categories import (
    CategoriesConfig,
    classifier_line,
    classify_documents,
    load_classifier,
    predict_categories,
    site_of,
)
from udfs.report import coverage_console_lines, coverage_markdown, coverage_rows

NEWS = "The minister said on Tuesday that the government will announce the budget, reporters were told."
FORUM = "Re: help with my bike chain - posted by rider22 - reply quote - thanks guys that fixed it, thread closed"


@pytest.mark.parametrize(
    ("domain", "site"),
    [
        ("news.bbc.co.uk", "bbc.co.uk"),
        ("www.cs.pku.edu.cn", "pku.edu.cn"),
        ("www.example.com.br", "example.com.br"),
        ("en.wikipedia.org", "wikipedia.org"),
        ("example.de", "example.de"),
        ("co.uk", "co.uk"),
        ("localhost", "localhost"),
        ("", ""),
    ],
)
def test_site_is_the_registrable_domain(domain: str, site: str) -> None:
    assert site_of(domain) == site


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """fastText on literal lines: news-like, forum-like and other sentences (one thread, fixed seed)."""
    import fasttext

    folder = tmp_path_factory.mktemp("tiny")
    lines = []
    for i in range(40):
        lines.append(f"__label__news {classifier_line(NEWS, 5000)} {i % 3}")
        lines.append(f"__label__forum {classifier_line(FORUM, 5000)} {i % 3}")
        lines.append(f"__label__other add to cart price shipping free returns item {i % 3}")
    (folder / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # The job's defaults. (This fasttext build sometimes stops with "Encountered NaN" on so small a file with
    # wordNgrams=1; with word bigrams it trains, and always to the same bytes.)
    model = fasttext.train_supervised(input=str(folder / "train.txt"), epoch=10, lr=0.5, dim=64, wordNgrams=2,
                                      minCount=1, thread=1, seed=0, verbose=0)
    path = folder / "tiny.bin"
    model.save_model(str(path))
    return str(path)


def test_classifier_only_fills_what_the_url_rules_left_at_fallback(tiny_model: str) -> None:
    conf = CategoriesConfig(classifier_model=tiny_model, classifier_min_score=0.5)
    texts = pd.Series([NEWS, NEWS, FORUM, "add to cart price shipping free returns"])
    categories = pd.Series(["code", "other", "other", "other"])
    result = classify_documents(texts, categories, conf)
    assert result["category"].tolist() == ["code", "news", "forum", "other"]
    assert result["category_source"].tolist() == ["url", "classifier", "classifier", "none"]
    scores = result["category_score"].to_numpy()
    assert np.isnan(scores[0]) and scores[1] >= 0.5 and scores[2] >= 0.5 and scores[3] < 0.5
    # The score is the probability of the best non-fallback label, as the model gives it.
    _, _, best = predict_categories(load_classifier(tiny_model), [classifier_line(NEWS, 5000)], "other")
    assert scores[1] == pytest.approx(best[0])


def test_threshold_keeps_unsure_pages_at_fallback(tiny_model: str) -> None:
    texts = pd.Series([NEWS, FORUM])
    categories = pd.Series(["other", "other"])
    _, top_score, _ = predict_categories(load_classifier(tiny_model), [classifier_line(t, 5000) for t in texts],
                                         "other")
    above = CategoriesConfig(classifier_model=tiny_model, classifier_min_score=float(top_score.min()))
    below = CategoriesConfig(classifier_model=tiny_model, classifier_min_score=float(top_score.max()) + 1e-9)
    assert classify_documents(texts, categories, above)["category_source"].tolist() == ["classifier"] * 2
    assert classify_documents(texts, categories, below)["category"].tolist() == ["other", "other"]


def test_a_category_threshold_replaces_the_global_one(tiny_model: str) -> None:
    texts = pd.Series([NEWS, FORUM])
    categories = pd.Series(["other", "other"])
    top, top_score, _ = predict_categories(load_classifier(tiny_model), [classifier_line(t, 5000) for t in texts],
                                           "other")
    assert top.tolist() == ["news", "forum"] and top_score[0] < 1.0
    # Just above the news page's probability for news only: that page stays at fallback, the forum page does not.
    conf = CategoriesConfig(classifier_model=tiny_model, classifier_min_score=0.0,
                            classifier_min_scores={"news": float(np.nextafter(top_score[0], 1.0))})
    result = classify_documents(texts, categories, conf)
    assert result["category"].tolist() == ["other", "forum"]
    assert result["category_source"].tolist() == ["none", "classifier"]


def test_without_a_model_nothing_is_classified() -> None:
    result = classify_documents(pd.Series([NEWS, NEWS]), pd.Series(["news", "other"]), CategoriesConfig())
    assert result["category"].tolist() == ["news", "other"]
    assert result["category_source"].tolist() == ["url", "none"]
    assert result["category_score"].isna().all()


def test_coverage_rows_shares_and_text() -> None:
    counts = pd.DataFrame({"category_source": ["url", "none", "url", "classifier"], "documents": [2, 5, 1, 2],
                           "tokens": [100, 250, 50, 100]})
    coverage = coverage_rows(counts)
    assert coverage["category_source"].tolist() == ["url", "classifier", "none"]
    assert coverage["documents"].tolist() == [3, 2, 5]
    assert coverage["tokens"].tolist() == [150, 100, 250]
    assert coverage["share_of_documents"].tolist() == pytest.approx([0.3, 0.2, 0.5])
    assert coverage["share_of_tokens"].tolist() == pytest.approx([0.3, 0.2, 0.5])
    lines = coverage_markdown(coverage)
    assert lines[0] == "Left at `other` (no URL rule, no confident classifier answer): 50.00% of documents, 50.00% " \
                       "of tokens."
    assert "| classifier | 2 | 100 | 20.00% | 20.00% |" in lines
    assert coverage_console_lines(coverage)[3].split() == ["none", "(other)", "5", "50.00%", "250", "50.00%"]


def test_coverage_without_token_counts_or_sources() -> None:
    coverage = coverage_rows(pd.DataFrame({"category_source": ["none"], "documents": [4], "tokens": [None]}))
    assert coverage["documents"].tolist() == [0, 0, 4]
    assert coverage["tokens"].isna().all() and coverage["share_of_tokens"].isna().all()
    assert coverage["share_of_documents"].tolist() == [0.0, 0.0, 1.0]


# -- the training job and the pipeline, on a small generated crawl --------------------------------------------------
@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """bench/corpus.py: ~780 CC-like pages over hundreds of sites in news, blog, forum, wiki and shop layouts."""
    from bench.corpus import generate

    return [str(p) for p in generate(tmp_path_factory.mktemp("crawl"), 2.0, 1, seed=3)]


@pytest.fixture(scope="module")
def trained(spark: Any, crawl: list[str], tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    from jobs.train_category_classifier import TrainCategoryClassifierJob

    folder = tmp_path_factory.mktemp("category-model")
    job = TrainCategoryClassifierJob()
    args, conf = job.load(["--input", *crawl, "--input-format", "wet", "--max-per-category", "120",
                           "--max-per-site", "3", "--holdout", "0.3", "--epoch", "30",
                           "--output", str(folder / "category.bin")])
    assert job.run_job(spark, args, conf) == 0
    return str(folder / "category.bin"), json.loads((folder / "category.metrics.json").read_text())


@pytest.mark.spark
def test_training_holds_out_whole_sites_and_balances_labels(trained: tuple[str, dict[str, Any]]) -> None:
    _, metrics = trained
    train = metrics["train"]
    categories = {label: n for label, n in train.items() if label != "other"}
    assert {"news", "blogs", "forum", "encyclopedia"} <= set(categories)
    # Balanced: at most --max-per-category pages a label before the split, other no more than the largest category.
    assert all(n + metrics["held_out_by_label"].get(label, 0) <= 120 for label, n in train.items())
    largest = max(n + metrics["held_out_by_label"].get(label, 0) for label, n in categories.items())
    assert train["other"] + metrics["held_out_by_label"].get("other", 0) <= largest
    # Whole sites on one side: no site has pages on both.
    assert metrics["shared_sites"] == 0 and metrics["held_out_sites"] > 20 and metrics["held_out"] > 50
    per_category = metrics["per_category"]
    assert set(per_category) >= {"news", "forum"}
    for row in per_category.values():
        assert row["support"] >= 0 and (row["precision"] is None or 0 <= row["precision"] <= 1)
    assert [t["threshold"] for t in metrics["by_threshold"]] == [0.3, 0.5, 0.7, 0.9]
    assert metrics["threshold"] == 0.5 and metrics["min_score"] == 0.5


@pytest.mark.spark
def test_training_is_deterministic(spark: Any, crawl: list[str], trained: tuple[str, dict[str, Any]],
                                   tmp_path: Path) -> None:
    from jobs.train_category_classifier import TrainCategoryClassifierJob

    job = TrainCategoryClassifierJob()
    args, conf = job.load(["--input", *crawl, "--input-format", "wet", "--max-per-category", "120",
                           "--max-per-site", "3", "--holdout", "0.3", "--epoch", "30",
                           "--output", str(tmp_path / "again.bin")])
    assert job.run_job(spark, args, conf) == 0
    again = json.loads((tmp_path / "again.metrics.json").read_text())
    first = trained[1]
    assert {k: v for k, v in again.items() if k != "model"} == {k: v for k, v in first.items() if k != "model"}
    assert (tmp_path / "again.bin").read_bytes() == Path(trained[0]).read_bytes()


@pytest.mark.spark
def test_pipeline_applies_the_model_to_pages_the_rules_left_at_other(
    spark: Any, crawl: list[str], trained: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    from tests.test_pipeline_e2e import run_pipeline

    model, _ = trained
    sharded = str(tmp_path / "sharded")
    settings = ["--set", f"categories.classifier_model={model}", "--set", "categories.classifier_min_score=0.5"]
    code, _ = run_pipeline(spark, ["--input", *crawl, "--output", sharded, "--stages", "ingest,tokens,report",
                                   *settings])
    assert code == 0
    documents = spark.read.parquet(f"{sharded}/documents").toPandas().sort_values("id").reset_index(drop=True)
    conf = CategoriesConfig(classifier_model=model, classifier_min_score=0.5)
    url_rules = CategoriesConfig()
    from udfs.categories import categorize

    by_rules = categorize(documents["domain"], documents["url"], None, url_rules)
    # Pages a URL rule names keep it; the rest are exactly what the model decides on their text.
    expected = classify_documents(documents["text"], by_rules, conf)
    assert documents["category"].tolist() == expected["category"].tolist()
    assert documents["category_source"].tolist() == expected["category_source"].tolist()
    np.testing.assert_allclose(documents["category_score"].to_numpy(dtype=float),
                               expected["category_score"].to_numpy(dtype=float), rtol=1e-6)
    sources = documents["category_source"].value_counts().to_dict()
    assert sources.get("classifier", 0) > 0 and sources["url"] == int((by_rules != "other").sum())
    assert (documents.loc[documents["category_source"] == "classifier", "category_score"] >= 0.5).all()
    assert documents.loc[documents["category_source"] == "url", "category_score"].isna().all()

    # The report's coverage is the same count, from the written data.
    report = json.loads(Path(f"{sharded}/reports/report.json").read_text())
    coverage = {row["category_source"]: row["documents"] for row in report["category_coverage"]}
    assert coverage == {"url": sources.get("url", 0), "classifier": sources["classifier"],
                        "none": sources.get("none", 0)}
    assert "### Category coverage" in Path(f"{sharded}/reports/report.md").read_text()

    # The one-stage path (Parquet documents in, tokens stage alone) decides the same.
    rerun = str(tmp_path / "rerun")
    code, _ = run_pipeline(spark, ["--input", f"{sharded}/documents", "--output", rerun, "--stages", "tokens",
                                   "--set", "input.format=parquet", *settings])
    assert code == 0
    again = spark.read.parquet(f"{rerun}/documents").toPandas().sort_values("id").reset_index(drop=True)
    assert again["category"].tolist() == documents["category"].tolist()
    assert again["category_source"].tolist() == documents["category_source"].tolist()


@pytest.mark.spark
def test_a_missing_model_is_refused_on_the_driver(spark: Any, crawl: list[str], tmp_path: Path) -> None:
    from tests.test_pipeline_e2e import run_pipeline
    from udfs.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^categories\.classifier_model: model not found"):
        run_pipeline(spark, ["--input", *crawl, "--output", str(tmp_path / "out"), "--stages", "ingest,tokens",
                             "--set", f"categories.classifier_model={tmp_path / 'missing.bin'}"])
