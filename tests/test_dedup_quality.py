"""A small run of bench/dedup_quality.py: planted near duplicates in real English and Chinese text, scored against
exact-Jaccard ground truth; and the 29 real ClueWeb09 Japanese shop pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from bench.dedup_quality import (
    JAPANESE_WET,
    WET_DIR,
    build_corpus,
    oracle_jaccard,
    oracle_shingles,
    read_wet,
    run_near_dedup,
    score,
    truth_for,
)

pytestmark = pytest.mark.spark

THRESHOLD = 0.75


@pytest.fixture(scope="module")
def corpus() -> tuple[pd.DataFrame, list[int]]:
    frame = build_corpus(seeds=6, variants=5, singles=6)
    return frame, truth_for(frame, THRESHOLD)


def test_corpus_has_clusters_on_both_sides_of_the_threshold(corpus: tuple[pd.DataFrame, list[int]]) -> None:
    frame, truth = corpus
    assert len(frame) == 2 * (6 * 6 + 6)
    assert set(frame["lang"]) == {"en", "zh"}
    sizes = pd.Series(truth).value_counts()
    # The corpus is seeded: the exact-Jaccard oracle finds 12 planted clusters (36 copies to remove), and the variants
    # edited below the threshold stay apart: 48 groups of the 84 documents.
    assert (sizes > 1).sum() == 12 and int((sizes - 1).sum()) == 36
    assert len(sizes) == 48


def test_verified_near_dedup_is_exact_and_finds_most_duplicates(
    spark: Any, corpus: tuple[pd.DataFrame, list[int]], tmp_path: Path
) -> None:
    frame, truth = corpus
    removed = run_near_dedup(spark, frame, {"near": {"threshold": THRESHOLD, "verify": True}}, str(tmp_path))
    result = score(list(frame["id"]), truth, removed)
    # Every one of the 36 copies found, none wrongly (the bands favour recall: false_negative_weight 0.9).
    assert (result["removed"], result["correct_removals"], result["should_remove"]) == (36, 36, 36), result
    assert (result["clusters_split"], result["clusters_merged"]) == (0, 0), result


def test_unverified_near_dedup_quality(spark: Any, corpus: tuple[pd.DataFrame, list[int]], tmp_path: Path) -> None:
    frame, truth = corpus
    # Unverified, the bands are chosen the datasketch way (false positives and negatives weighted alike).
    near = {"threshold": THRESHOLD, "verify": False, "false_positive_weight": 0.5, "false_negative_weight": 0.5}
    removed = run_near_dedup(spark, frame, {"near": near}, str(tmp_path))
    result = score(list(frame["id"]), truth, removed)
    # Precision 32/35 = 0.914, recall 32/36 = 0.889: 2 clusters merged through LSH false positives, 2 split.
    assert (result["removed"], result["correct_removals"], result["should_remove"]) == (35, 32, 36), result
    assert (result["clusters_split"], result["clusters_merged"]) == (2, 2), result


def test_clueweb_japanese_shop_pages(spark: Any, tmp_path: Path) -> None:
    records = read_wet(WET_DIR / JAPANESE_WET)
    assert len(records) == 29
    frame = pd.DataFrame(
        {
            "id": [r[0] for r in records],
            "text": [r[1] for r in records],
            "lang": "ja",
            "date": "2009-01-01",
            "group": 0,
        }
    )
    removed = run_near_dedup(spark, frame, {"near": {"threshold": THRESHOLD, "verify": True}}, str(tmp_path))
    shingles = {r[0]: oracle_shingles(r[1], "char", 5) for r in records}
    # Every removal is a true duplicate of the page it points to, and that page is kept.
    assert len(removed) == 13 and len(set(removed.values())) == 6  # 13 copies of 6 kept pages
    assert all(oracle_jaccard(shingles[d], shingles[k]) >= THRESHOLD for d, k in removed.items())
    assert not set(removed.values()) & set(removed)
    # A page below the threshold against every other page is never removed.
    loners = {
        i for i in shingles if all(oracle_jaccard(shingles[i], shingles[j]) < THRESHOLD for j in shingles if j != i)
    }
    assert len(loners) == 10 and not loners & set(removed)
