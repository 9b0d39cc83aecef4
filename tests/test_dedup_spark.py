"""Spark tests of jobs/stages/dedup.py and udfs/dedup/components.py: exact, paragraph and MinHash-LSH near dedup,
connected components, incremental index."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from bench.dedup_quality import chinese_base_docs, english_base_docs, make_variant, oracle_jaccard, oracle_shingles
from jobs.stages.dedup import apply, apply_exact_dedup, apply_near_dedup, apply_paragraph_dedup
from udfs.dedup.components import connected_components
from udfs.dedup.config import DedupConfig
from udfs.errors import ConfigError

pytestmark = pytest.mark.spark

COLUMNS = "id string, text string, date string, lang string, quality_score double, stage string, reason string"


def frame(spark: Any, rows: list[tuple]) -> Any:
    """Rows of (id, text, date, lang[, quality_score[, reason]])."""
    full = []
    for row in rows:
        row = tuple(row) + (None,) * (6 - len(row))
        reason = row[5]
        full.append((row[0], row[1], row[2], row[3], row[4], "quality" if reason else None, reason))
    return spark.createDataFrame(full, COLUMNS)


def outcome(result: Any) -> dict[str, tuple[str | None, str | None]]:
    return {r["id"]: (r["reason"], r["duplicate_of"]) for r in result.select("id", "reason", "duplicate_of").collect()}


# ---------------------------------------------------------------------------------------------------------------
# Exact dedup
# ---------------------------------------------------------------------------------------------------------------

EXACT_ROWS = [
    ("a", "Hello  World", "2024-03-01", "en", 0.2),
    ("b", "hello world", "2024-01-01", "en", 0.9),
    ("c", "HELLO WORLD ", "2024-01-01", "en", None),
    ("d", "hello, world", "2024-01-01", "en", 0.5),  # punctuation kept by default: not a copy
    ("e", "hello world", "2023-01-01", "en", 1.0, "quality:gopher"),  # rejected: takes no part
]


def test_exact_keeps_first_by_date_then_id(spark: Any) -> None:
    result = outcome(apply_exact_dedup(frame(spark, EXACT_ROWS), DedupConfig()))
    assert result == {
        "a": ("dedup:exact", "b"),
        "b": (None, None),
        "c": ("dedup:exact", "b"),  # same date as b: the smaller id wins
        "d": (None, None),
        "e": ("quality:gopher", None),
    }


def test_exact_keep_quality_and_longest(spark: Any) -> None:
    data = frame(spark, EXACT_ROWS)
    by_quality = outcome(apply_exact_dedup(data, DedupConfig(keep="quality")))
    assert {k: v[1] for k, v in by_quality.items() if v[0] == "dedup:exact"} == {"a": "b", "c": "b"}
    longest = outcome(apply_exact_dedup(data, DedupConfig(keep="longest")))
    assert {k: v[1] for k, v in longest.items() if v[0] == "dedup:exact"} == {"b": "c", "a": "c"}  # "HELLO WORLD "


def test_exact_strip_punctuation_option(spark: Any) -> None:
    conf = DedupConfig.from_dict({"exact": {"text_key": {"strip_punctuation": True}}})
    result = outcome(apply_exact_dedup(frame(spark, EXACT_ROWS), conf))
    assert result["d"] == ("dedup:exact", "b")


def test_exact_keeps_rejected_rows_untouched(spark: Any) -> None:
    data = frame(spark, EXACT_ROWS)
    result = apply_exact_dedup(data, DedupConfig())
    assert result.count() == data.count()
    rejected = result.filter("id = 'e'").first()
    assert (rejected["stage"], rejected["reason"], rejected["duplicate_of"]) == ("quality", "quality:gopher", None)


# ---------------------------------------------------------------------------------------------------------------
# Near dedup on real text
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def near_corpus() -> list[tuple]:
    """8 English + 4 Chinese real base documents, plus planted copies of three of them.

    en-0: 2 exact copies (one with other case/spacing); en-1: one word replaced (J >= 0.9);
    zh-0: a short sentence inserted (J >= 0.9); every base document is disjoint from the others.
    """
    english, chinese = english_base_docs()[:8], chinese_base_docs()[:4]
    rows = [(f"en-{i}", text, "2024-02-01", "en") for i, text in enumerate(english)]
    rows += [(f"zh-{i}", text, "2024-02-01", "zh") for i, text in enumerate(chinese)]
    rows.append(("en-0-copy", english[0], "2024-01-01", "en"))
    rows.append(("en-0-case", "  " + english[0].upper().replace(" ", "   "), "2024-03-01", "en"))
    words = english[1].split(" ")
    words[len(words) // 2] = "replaced"
    rows.append(("en-1-sub", " ".join(words), "2024-03-01", "en"))
    middle = len(chinese[0]) // 2
    zh_variant = chinese[0][:middle] + "今天天气很好。" + chinese[0][middle:]
    rows.append(("zh-0-ins", zh_variant, "2024-03-01", None))  # no language: the CJK fallback shingles it
    return rows


def test_planted_fixture_has_the_similarities_it_claims(near_corpus: list[tuple]) -> None:
    texts = {r[0]: r[1] for r in near_corpus}

    def j(a: str, b: str, unit: str = "word") -> float:
        return oracle_jaccard(oracle_shingles(texts[a], unit, 5), oracle_shingles(texts[b], unit, 5))

    assert j("en-1", "en-1-sub") >= 0.9 and j("zh-0", "zh-0-ins", "char") >= 0.9
    bases = [r[0] for r in near_corpus if r[0].count("-") == 1]
    assert max(j(a, b, "char" if a.startswith("zh") else "word") for a in bases for b in bases if a < b) < 0.1


def test_near_collapses_copies_and_keeps_distinct_docs(spark: Any, near_corpus: list[tuple], tmp_path: Path) -> None:
    result = outcome(apply_near_dedup(frame(spark, near_corpus), DedupConfig(), str(tmp_path)))
    removed = {k: v for k, v in result.items() if v[0] is not None}
    assert removed == {
        "en-0": ("dedup:near", "en-0-copy"),  # the copy is older: it is kept
        "en-0-case": ("dedup:near", "en-0-copy"),
        "en-1-sub": ("dedup:near", "en-1"),
        "zh-0-ins": ("dedup:near", "zh-0"),
    }


def test_near_results_identical_across_reruns_and_partitionings(
    spark: Any, near_corpus: list[tuple], tmp_path: Path
) -> None:
    conf = DedupConfig()
    data = frame(spark, near_corpus)
    runs = [
        apply_near_dedup(data.repartition(n), conf, str(tmp_path / f"run{i}")).select("id", "reason", "duplicate_of")
        for i, n in enumerate((1, 5, 5))
    ]
    assertDataFrameEqual(runs[0], runs[1])
    assertDataFrameEqual(runs[1], runs[2])


def test_docs_below_threshold_never_merge(spark: Any, tmp_path: Path) -> None:
    # Variants at Jaccard 0.25–0.65 of their base (measured below); with verification no pair may merge.
    rng = random.Random(5)
    bases = english_base_docs()[10:16]
    rows, pairs = [], []
    for i, base in enumerate(bases):
        variant = make_variant(base, "en", "substitute", 0.08, bases[(i + 1) % len(bases)], rng)
        similarity = oracle_jaccard(oracle_shingles(base, "word", 5), oracle_shingles(variant, "word", 5))
        pairs.append(similarity)
        rows += [(f"b{i}", base, "2024-01-01", "en"), (f"v{i}", variant, "2024-01-01", "en")]
    assert min(pairs) > 0.25 and max(pairs) < 0.65
    result = outcome(apply_near_dedup(frame(spark, rows), DedupConfig(), str(tmp_path)))  # verify is the default
    assert all(reason is None for reason, _ in result.values())


def test_verification_drops_lsh_false_positives(spark: Any, tmp_path: Path) -> None:
    # 20 bands of one row: a pair of Jaccard 0.22 shares a band with probability 1 - 0.78**20 = 0.99.
    words = [f"word{i}" for i in range(18)]
    rows = [
        ("x1", " ".join(words), "2024-01-01", "en"),
        ("x2", " ".join(words[:9] + ["other"] * 9), "2024-01-01", "en"),  # J = 5/23
    ]
    loose = {"near": {"num_perm": 20, "bands": 20, "rows": 1, "verify": False}}
    unverified = outcome(apply_near_dedup(frame(spark, rows), DedupConfig.from_dict(loose), str(tmp_path / "a")))
    loose["near"]["verify"] = True
    verified = outcome(apply_near_dedup(frame(spark, rows), DedupConfig.from_dict(loose), str(tmp_path / "b")))
    assert unverified["x2"] == ("dedup:near", "x1")
    assert verified["x2"] == (None, None)


def test_keep_k_per_cluster(spark: Any, tmp_path: Path) -> None:
    text = english_base_docs()[20]
    rows = [(f"k{i}", text + f" footer {i}", f"2024-01-0{5 - i}", "en") for i in range(4)]
    rows.append(("other", english_base_docs()[21], "2024-01-01", "en"))
    result = outcome(apply_near_dedup(frame(spark, rows), DedupConfig(keep_per_cluster=2), str(tmp_path)))
    # Dates: k3 oldest, then k2: those two stay; the others point at the best copy, k3.
    assert result == {
        "k0": ("dedup:near", "k3"),
        "k1": ("dedup:near", "k3"),
        "k2": (None, None),
        "k3": (None, None),
        "other": (None, None),
    }


def test_keep_longest_in_a_near_cluster(spark: Any, tmp_path: Path) -> None:
    text = english_base_docs()[22]
    rows = [("s", text, "2024-01-01", "en"), ("l", text + " and a few more words", "2024-02-01", "en")]
    result = outcome(apply_near_dedup(frame(spark, rows), DedupConfig(keep="longest"), str(tmp_path)))
    assert result == {"s": ("dedup:near", "l"), "l": (None, None)}


def test_incremental_run_against_saved_index(spark: Any, tmp_path: Path) -> None:
    docs = english_base_docs()[30:34]
    index = str(tmp_path / "index")
    conf = DedupConfig.from_dict({"near": {"index_path": index}})
    first = [("old-a", docs[0], "2024-05-01", "en"), ("old-a2", docs[0], "2024-06-01", "en"),
             ("old-b", docs[1], "2024-05-01", "en")]  # fmt: skip
    outcome_first = outcome(apply_near_dedup(frame(spark, first), conf, str(tmp_path / "w1")))
    assert outcome_first["old-a2"] == ("dedup:near", "old-a")
    bands = conf.near.lsh_params()[0]
    assert spark.read.parquet(index).select("id").distinct().count() == 2  # only the survivors are indexed
    assert spark.read.parquet(index).count() == 2 * bands

    # The next crawl: an older-dated copy of old-a still loses to the indexed doc; a new doc and its copy.
    second = [("new-a", docs[0] + " updated", "2024-01-01", "en"), ("new-c", docs[2], "2024-07-01", "en"),
              ("new-c2", docs[2], "2024-07-02", "en"), ("new-d", docs[3], "2024-07-01", "en")]  # fmt: skip
    expected = {
        "new-a": ("dedup:near", "old-a"),
        "new-c": (None, None),
        "new-c2": ("dedup:near", "new-c"),
        "new-d": (None, None),
    }
    assert outcome(apply_near_dedup(frame(spark, second), conf, str(tmp_path / "w2"))) == expected
    assert spark.read.parquet(index).select("id").distinct().count() == 4
    # Re-running the same crawl (e.g. after a failure downstream) gives the same answer: its own entries are ignored.
    assert outcome(apply_near_dedup(frame(spark, second), conf, str(tmp_path / "w3"))) == expected
    assert spark.read.parquet(index).count() == 4 * bands  # and is not appended twice
    # Verification is on by default: edges to indexed documents (no text at hand) stand on the LSH evidence.
    # Without verification the answer is the same.
    unverified = DedupConfig.from_dict({"near": {"index_path": index, "verify": False}})
    assert outcome(apply_near_dedup(frame(spark, second), unverified, str(tmp_path / "w4"))) == expected
    # An index is only meaningful with the hashing settings it was built with.
    other = DedupConfig.from_dict({"near": {"index_path": index, "num_perm": 128}})
    with pytest.raises(ConfigError, match=r"dedup\.near\.index_path: .*num_perm"):
        apply_near_dedup(frame(spark, second), other, str(tmp_path / "w5"))


# ---------------------------------------------------------------------------------------------------------------
# Connected components
# ---------------------------------------------------------------------------------------------------------------


def test_connected_components_on_a_long_path_and_a_star(spark: Any, tmp_path: Path) -> None:
    # A path n00 - n01 - ... - n29 (worst case for label propagation), a separate star, and a 2-cycle.
    path = [(f"n{i:02d}", f"n{i + 1:02d}") for i in range(29)]
    star = [(f"s{i}", "s9") for i in range(5)]
    edges = spark.createDataFrame(path[::-1] + star + [("y", "x"), ("x", "y")], "src string, dst string")
    result = {
        r["id"]: r["component"]
        for r in connected_components(edges, max_iterations=40, checkpoint_every=2, work_dir=str(tmp_path)).collect()
    }
    assert result == {
        **{f"n{i:02d}": "n00" for i in range(30)},
        **{f"s{i}": "s0" for i in (0, 1, 2, 3, 4, 9)},
        "x": "x",
        "y": "x",
    }


def test_rounds_stop_when_the_edges_are_stars(spark: Any, caplog: pytest.LogCaptureFixture) -> None:
    from udfs.dedup.components import _star_forest

    def edges(pairs: list[tuple[str, str]]) -> Any:
        return spark.createDataFrame(pairs, "u string, v string")

    assert _star_forest(edges([("b", "a"), ("c", "a"), ("e", "d")])) == (3, True)
    assert _star_forest(edges([("c", "b"), ("b", "a")])) == (2, False)  # b is a leaf and a centre
    assert _star_forest(edges([("c", "a"), ("c", "b")])) == (2, False)  # c has two centres
    assert _star_forest(edges([])) == (0, True)
    # Member → bucket root edges with no overlap (the common case) are stars already: no round runs.
    caplog.set_level(logging.INFO, logger="cc_refinery.dedup")
    stars = spark.createDataFrame([("b", "a"), ("c", "a"), ("e", "d")], "src string, dst string")
    assert sorted(tuple(r) for r in connected_components(stars).collect()) == [
        ("a", "a"), ("b", "a"), ("c", "a"), ("d", "d"), ("e", "d")
    ]
    assert "converged after 0 rounds (3 edges)" in caplog.text
    chain = spark.createDataFrame([("c", "b"), ("b", "a")], "src string, dst string")
    assert {r["id"]: r["component"] for r in connected_components(chain).collect()} == {"a": "a", "b": "a", "c": "a"}
    assert "converged after 1 rounds (2 edges)" in caplog.text


# ---------------------------------------------------------------------------------------------------------------
# Paragraph dedup and the pipeline hook
# ---------------------------------------------------------------------------------------------------------------


def test_paragraph_dedup_removes_lines_shared_by_documents(spark: Any) -> None:
    rows = [
        ("p1", "Cookie banner: accept all\nFirst real paragraph.\nMenu Home About", "2024-01-01", "en"),
        ("p2", "cookie banner: accept all\nSecond real paragraph.", "2024-01-01", "en"),
        ("p3", "Menu Home About\nCookie banner: accept all", "2024-01-01", "en"),
        ("p4", "Unique text only.", "2024-01-01", "en"),
    ]
    conf = DedupConfig.from_dict({"paragraphs": {"enabled": True, "max_documents": 1}})
    result = {r["id"]: (r["text"], r["reason"]) for r in apply_paragraph_dedup(frame(spark, rows), conf).collect()}
    assert result == {
        "p1": ("First real paragraph.", None),
        "p2": ("Second real paragraph.", None),
        "p3": ("Menu Home About\nCookie banner: accept all", "dedup:paragraphs_empty"),
        "p4": ("Unique text only.", None),
    }
    # max_documents 2: the banner (3 documents) goes, the menu (2 documents) stays.
    conf = DedupConfig.from_dict({"paragraphs": {"enabled": True, "max_documents": 2}})
    result = {r["id"]: r["text"] for r in apply_paragraph_dedup(frame(spark, rows), conf).collect()}
    assert result["p1"] == "First real paragraph.\nMenu Home About" and result["p3"] == "Menu Home About"


def test_pipeline_hook_chains_exact_and_near(spark: Any, tmp_path: Path) -> None:
    text = english_base_docs()[40]
    rows = [
        ("a", text, "2024-03-01", "en"),  # exact copy of b (kept by exact) ...
        ("b", text, "2024-02-01", "en"),
        ("c", text + " with a short tail", "2024-01-01", "en"),  # ... but b is a near copy of older c
        ("r", text, "2024-01-01", "en", None, "langid:low_score"),
    ]
    conf = DedupConfig.from_dict({"near": {"enabled": True}})
    context = SimpleNamespace(conf=SimpleNamespace(dedup=conf), work_dir=str(tmp_path))
    result = apply(frame(spark, rows), context)
    assert outcome(result) == {
        "a": ("dedup:exact", "c"),  # re-pointed at the document that survives
        "b": ("dedup:near", "c"),
        "c": (None, None),
        "r": ("langid:low_score", None),
    }
    assert result.filter(F.col("stage") == "dedup").count() == 2


# ---------------------------------------------------------------------------------------------------------------
# The keep policy: one order (udfs/dedup/keep.py), the same in Spark and in pandas
# ---------------------------------------------------------------------------------------------------------------

KEEP_ROWS = [  # id, date, text_length, quality
    ("d", "2024-01-01", 40, 0.5),
    ("a", "2024-01-01", 90, None),
    ("c", None, 90, 0.9),
    ("b", "2023-06-30", 10, 0.5),
    ("e", None, 40, None),
    ("f", "2023-06-30", 90, 0.9),
]


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        ("first", ["b", "f", "a", "d", "c", "e"]),
        ("longest", ["f", "a", "c", "d", "e", "b"]),
        ("quality", ["f", "c", "b", "d", "a", "e"]),
    ],
)
def test_keep_order_is_the_same_in_spark_and_pandas(spark: Any, keep: str, expected: list[str]) -> None:
    import pandas as pd

    from jobs.stages.dedup import keep_key
    from udfs.dedup.keep import rank_for_keep

    conf = DedupConfig(keep=keep)
    frame = spark.createDataFrame(KEEP_ROWS, "id string, date string, text_length int, quality double")
    in_spark = [r["id"] for r in frame.orderBy(keep_key(conf)).collect()]
    local = pd.DataFrame(KEEP_ROWS, columns=["id", "date", "text_length", "quality"])
    assert in_spark == rank_for_keep(local, conf)["id"].tolist() == expected
