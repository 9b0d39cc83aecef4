"""Near-dedup quality against exact-Jaccard ground truth, on real English (WET) and Chinese text.

    .venv/bin/python bench/dedup_quality.py [--seeds 40] [--variants 5] [--verify]

The corpus: disjoint windows of real text (English lines from the sample WET pages, Chinese web reviews) as base
documents, then near-duplicate variants planted around some of them (word/character substitutions, inserted and
deleted lines, shuffled lines, truncation) at a spread of similarities. Ground truth is the exact Jaccard of the
shingle sets, computed here independently in plain Python (sets of n-gram strings); the truth clusters are the
connected components of the "Jaccard >= threshold" graph. Reported: precision and recall of the removed documents,
and truth clusters split / predicted clusters merged wrongly. Then the 29 ClueWeb09 Japanese shop pages.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import re
import sys
import time
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

WET_DIR = REPO_ROOT / "tests" / "fixtures" / "wet"
ZH_REVIEWS = REPO_ROOT / "tests" / "fixtures" / "dedup" / "zh_reviews.txt"
ENGLISH_WET = ("derived_dolma_sample-0000.warc.wet.gz", "derived_dolma_sample-0001.warc.wet.gz")
JAPANESE_WET = "derived_clueweb09-ja_quirk.warc.wet.gz"


# ---------------------------------------------------------------------------------------------------------------
# Reading WET samples (a minimal reader: the project's real one is udfs/warc.py)
# ---------------------------------------------------------------------------------------------------------------


def read_wet(path: Path) -> list[tuple[str, str]]:
    """(WARC-Record-ID, text) of every conversion record of a small WET file."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read().decode("utf-8", "replace")
    records = []
    for chunk in raw.split("WARC/1.0\r\n")[1:]:
        head, _, body = chunk.partition("\r\n\r\n")
        if "WARC-Type: conversion" not in head:
            continue
        match = re.search(r"WARC-Record-ID: <([^>]+)>", head)
        records.append((match.group(1) if match else f"rec{len(records)}", body.strip()))
    return records


# ---------------------------------------------------------------------------------------------------------------
# Independent ground truth: shingle sets in plain Python
# ---------------------------------------------------------------------------------------------------------------


def oracle_shingles(text: str, unit: str, n: int) -> set[str]:
    """Lower-case, drop punctuation/symbols, single spaces; then word or character n-grams (short doc: itself)."""
    text = "".join(ch for ch in text.lower() if unicodedata.category(ch)[0] not in "PS")
    text = " ".join(text.split())
    if unit == "word":
        words = text.split(" ") if text else []
        if not words:
            return set()
        if len(words) < n:
            return {" ".join(words)}
        return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}
    if not text:
        return set()
    if len(text) < n:
        return {text}
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def oracle_jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def truth_components(sets: list[set[str]], groups: list[int], threshold: float) -> list[int]:
    """Component label per document of the graph "Jaccard >= threshold" (pairs compared within ``groups``)."""
    parent = list(range(len(sets)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_group: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        by_group[g].append(i)
    for members in by_group.values():
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                if oracle_jaccard(sets[i], sets[j]) >= threshold:
                    parent[find(i)] = find(j)
    return [find(i) for i in range(len(sets))]


# ---------------------------------------------------------------------------------------------------------------
# Corpus with planted near duplicates
# ---------------------------------------------------------------------------------------------------------------


def english_base_docs(min_words: int = 120) -> list[str]:
    """Disjoint windows of distinct real lines (repeated boilerplate lines dropped), each >= ``min_words`` words."""
    seen: set[str] = set()
    lines = []
    for name in ENGLISH_WET:
        for _, text in read_wet(WET_DIR / name):
            for line in text.split("\n"):
                line = line.strip()
                if len(line.split()) >= 4 and line.lower() not in seen:
                    seen.add(line.lower())
                    lines.append(line)
    docs, current = [], []
    for line in lines:
        current.append(line)
        if sum(len(x.split()) for x in current) >= min_words:
            docs.append("\n".join(current))
            current = []
    return docs


def chinese_base_docs(min_chars: int = 300) -> list[str]:
    docs, current = [], []
    seen: set[str] = set()
    for line in ZH_REVIEWS.read_text(encoding="utf-8").splitlines():
        if line in seen:
            continue
        seen.add(line)
        current.append(line)
        if sum(len(x) for x in current) >= min_chars:
            docs.append("\n".join(current))
            current = []
    return docs


def _edit_units(units: list[str], rate: float, vocabulary: list[str], rng: random.Random) -> list[str]:
    return [rng.choice(vocabulary) if rng.random() < rate else u for u in units]


def make_variant(text: str, lang: str, kind: str, strength: float, donor: str, rng: random.Random) -> str:
    """One near-duplicate of ``text``: ``kind`` in substitute / insert / delete / shuffle / truncate."""
    lines = text.split("\n")
    if kind == "substitute":
        if lang == "zh":
            chars = list(text)
            vocabulary = sorted(set(donor) - {"\n"})
            return "".join(_edit_units(chars, strength, vocabulary, rng))
        out = []
        vocabulary = donor.split()
        for line in lines:
            out.append(" ".join(_edit_units(line.split(" "), strength, vocabulary, rng)))
        return "\n".join(out)
    if kind == "insert":
        donor_lines = donor.split("\n")
        extra = donor_lines[: max(1, int(len(donor_lines) * strength))]
        at = rng.randrange(len(lines) + 1)
        return "\n".join(lines[:at] + extra + lines[at:])
    if kind == "delete":
        keep = [line for line in lines if rng.random() >= strength] or lines[:1]
        return "\n".join(keep)
    if kind == "shuffle":
        shuffled = lines[:]
        rng.shuffle(shuffled)
        return "\n".join(shuffled)
    if kind == "truncate":
        return text[: max(1, int(len(text) * (1 - strength)))]
    raise ValueError(kind)


VARIANT_PLAN = (
    ("substitute", 0.01),
    ("substitute", 0.03),
    ("substitute", 0.06),
    ("substitute", 0.12),
    ("insert", 0.3),
    ("delete", 0.15),
    ("shuffle", 0.0),
    ("truncate", 0.2),
    ("truncate", 0.45),
)


def build_corpus(seeds: int, variants: int, singles: int, seed: int = 7) -> pd.DataFrame:
    """Columns id, text, lang, date, group (the base document a row derives from)."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for lang, bases in (("en", english_base_docs()), ("zh", chinese_base_docs())):
        rng.shuffle(bases)
        wanted = min(len(bases), seeds + singles)
        for b, base in enumerate(bases[:wanted]):
            group = len(rows)
            rows.append({"id": f"{lang}-{b:04d}-0", "text": base, "lang": lang, "group": group})
            if b >= seeds:
                continue
            plan = rng.sample(VARIANT_PLAN, k=min(variants, len(VARIANT_PLAN)))
            for v, (kind, strength) in enumerate(plan, start=1):
                donor = bases[(b + 1 + v) % len(bases)]
                text = make_variant(base, lang, kind, strength, donor, rng)
                rows.append({"id": f"{lang}-{b:04d}-{v}", "text": text, "lang": lang, "group": group})
    frame = pd.DataFrame(rows)
    # Dates in a shuffled order, so the kept copy is not always the base document.
    frame["date"] = [f"2024-01-{rng.randrange(1, 29):02d}T00:00:00Z" for _ in range(len(frame))]
    return frame


# ---------------------------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------------------------


def score(ids: list[str], truth: list[int], duplicate_of: dict[str, str]) -> dict[str, Any]:
    """Precision/recall of removed docs and wrong splits/merges, from ``duplicate_of`` (removed id → kept id)."""
    label = dict(zip(ids, truth, strict=True))
    sizes: dict[int, int] = defaultdict(int)
    for t in truth:
        sizes[t] += 1
    should_remove = sum(size - 1 for size in sizes.values())
    correct = sum(1 for d, kept in duplicate_of.items() if label[d] == label[kept])
    # Predicted cluster of a doc: the doc it points to, or itself.
    predicted = {i: duplicate_of.get(i, i) for i in ids}
    truth_to_pred: dict[int, set[str]] = defaultdict(set)
    pred_to_truth: dict[str, set[int]] = defaultdict(set)
    for i in ids:
        truth_to_pred[label[i]].add(predicted[i])
        pred_to_truth[predicted[i]].add(label[i])
    return {
        "docs": len(ids),
        "truth_clusters": sum(1 for s in sizes.values() if s > 1),
        "should_remove": should_remove,
        "removed": len(duplicate_of),
        "correct_removals": correct,
        "precision": correct / len(duplicate_of) if duplicate_of else 1.0,
        "recall": correct / should_remove if should_remove else 1.0,
        "clusters_split": sum(1 for preds in truth_to_pred.values() if len(preds) > 1),
        "clusters_merged": sum(1 for truths in pred_to_truth.values() if len(truths) > 1),
    }


def truth_for(corpus: pd.DataFrame, threshold: float, n: int = 5) -> list[int]:
    sets = [
        oracle_shingles(text, "char" if lang in ("zh", "ja", "ko") else "word", n)
        for text, lang in zip(corpus["text"], corpus["lang"], strict=True)
    ]
    return truth_components(sets, list(corpus["group"]), threshold)


def run_near_dedup(spark: Any, corpus: pd.DataFrame, conf_dict: dict[str, Any], work_dir: str) -> dict[str, str]:
    """duplicate_of of every document removed by ``apply_near_dedup`` (id → kept id)."""
    from pyspark.sql import functions as F

    from jobs.stages.dedup import apply_near_dedup
    from udfs.dedup.config import DedupConfig

    frame = spark.createDataFrame(corpus[["id", "text", "lang", "date"]]).select(
        "*", F.lit(None).cast("string").alias("stage"), F.lit(None).cast("string").alias("reason")
    )
    result = apply_near_dedup(frame, DedupConfig.from_dict(conf_dict), work_dir)
    rows = result.filter(F.col("reason") == "dedup:near").select("id", "duplicate_of").collect()
    return {r["id"]: r["duplicate_of"] for r in rows}


def japanese_cluster_report(spark: Any, threshold: float, work_dir: str, verify: bool) -> dict[str, Any]:
    records = read_wet(WET_DIR / JAPANESE_WET)
    corpus = pd.DataFrame(
        {
            "id": [r[0] for r in records],
            "text": [r[1] for r in records],
            "lang": "ja",
            "date": "2009-01-01T00:00:00Z",
            "group": 0,
        }
    )
    sets = [oracle_shingles(t, "char", 5) for t in corpus["text"]]
    pairs = [oracle_jaccard(sets[i], sets[j]) for i in range(len(sets)) for j in range(i + 1, len(sets))]
    truth = truth_components(sets, [0] * len(sets), threshold)
    removed = run_near_dedup(spark, corpus, {"near": {"threshold": threshold, "verify": verify}}, work_dir + "/ja")
    report = score(list(corpus["id"]), truth, removed)
    report["pair_jaccard_min_max"] = (round(min(pairs), 3), round(max(pairs), 3))
    report["pairs_at_or_above_threshold"] = f"{sum(p >= threshold for p in pairs)}/{len(pairs)}"
    report["kept"] = len(corpus) - len(removed)
    return report


def make_spark(master: str = "local[2]") -> Any:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(master)
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=40, help="base documents per language that get variants")
    parser.add_argument("--variants", type=int, default=5, help="variants planted per seed document")
    parser.add_argument("--singles", type=int, default=60, help="base documents per language without variants")
    parser.add_argument("--threshold", type=float, default=0.75)
    parser.add_argument(
        "--lsh-threshold",
        type=float,
        default=None,
        help="also run verify=True with the LSH bands tuned for this lower Jaccard (more candidates, verified at "
        "--threshold): recall bought with verification work",
    )
    parser.add_argument("--work-dir", default="/tmp/cc-refinery-dedup-quality")
    args = parser.parse_args()

    corpus = build_corpus(args.seeds, args.variants, args.singles)
    started = time.time()
    truth = truth_for(corpus, args.threshold)
    print(
        f"corpus: {len(corpus)} docs ({(corpus['lang'] == 'en').sum()} en, {(corpus['lang'] == 'zh').sum()} zh); "
        f"exact-Jaccard truth in {time.time() - started:.1f}s"
    )
    spark = make_spark()
    ids = list(corpus["id"])
    # fp/fn 0.5/0.5: datasketch's default band choice; 0.1/0.9 (the conf default): misses weigh more.
    even = {"false_positive_weight": 0.5, "false_negative_weight": 0.5}
    settings = [("verify=False", {"threshold": args.threshold, "verify": False, **even})]
    settings.append(("verify=True", {"threshold": args.threshold, "verify": True, **even}))
    settings.append(("verify=True,fn=0.9", {"threshold": args.threshold, "verify": True}))
    if args.lsh_threshold is not None:
        settings.append(
            (
                f"lsh={args.lsh_threshold}+verify",
                {"threshold": args.lsh_threshold, "verify": True, "verify_threshold": args.threshold},
            )
        )
    for label, near in settings:
        started = time.time()
        removed = run_near_dedup(spark, corpus, {"near": near}, f"{args.work_dir}/{len(label)}{near['threshold']}")
        seconds = time.time() - started
        for lang in ("en", "zh", "all"):
            mask = corpus["lang"] == lang if lang != "all" else corpus["lang"].notna()
            lang_ids = [i for i, m in zip(ids, mask, strict=True) if m]
            lang_truth = [t for t, m in zip(truth, mask, strict=True) if m]
            lang_removed = {d: k for d, k in removed.items() if d in set(lang_ids)}
            result = score(lang_ids, lang_truth, lang_removed)
            print(
                f"{label:<18} {lang:<3} "
                + "  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items())
                + (f"  ({seconds:.1f}s)" if lang == "all" else "")
            )
    for verify in (False, True):
        report = japanese_cluster_report(spark, args.threshold, args.work_dir, verify)
        print(f"clueweb09-ja shop pages, verify={verify}: {report}")
    spark.stop()


if __name__ == "__main__":
    main()
