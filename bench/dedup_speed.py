"""Near-dedup speed: signatures per second per core vs datasketch, and end-to-end Spark dedup time.

    .venv/bin/python bench/dedup_speed.py [--docs 2000] [--sig-docs 1000]

1. Signatures: the same documents (real English lines and Chinese reviews sampled into ~600-word / ~1,500-character
   pages), the same parameters (112 permutations, word 5-grams / char 5-grams), one core, text → signature:
   ours (``udfs.dedup.minhash``, one batch) vs datasketch ``MinHash.update_batch`` per document and
   ``MinHash.bulk`` (their shingles made in plain Python, the time of which is reported apart).
2. End to end: ``apply_near_dedup`` (+ exact) on 1× and 2× the documents, each in a fresh Spark session in a
   subprocess, with local[1] and local[2].
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.dedup_quality import ENGLISH_WET, WET_DIR, ZH_REVIEWS, make_variant, oracle_shingles, read_wet  # noqa: E402


def speed_corpus(docs: int, seed: int = 3) -> pd.DataFrame:
    """``docs`` pages of real lines sampled with replacement (en ~600 words, zh ~1,500 chars), 20% near copies."""
    rng = random.Random(seed)
    english = [line for name in ENGLISH_WET for _, text in read_wet(WET_DIR / name) for line in text.split("\n")
               if len(line.split()) >= 4]  # fmt: skip
    chinese = ZH_REVIEWS.read_text(encoding="utf-8").splitlines()
    rows = []
    for i in range(docs):
        lang = "zh" if i % 3 == 2 else "en"
        if i >= 5 and rng.random() < 0.2:
            source = rows[rng.randrange(len(rows))]
            text = make_variant(source["text"], source["lang"], "substitute", 0.02, source["text"], rng)
            rows.append({"id": f"d{i:07d}", "text": text, "lang": source["lang"]})
            continue
        pool, size, unit = (chinese, 1500, len) if lang == "zh" else (english, 600, lambda s: len(s.split()))
        lines, total = [], 0
        while total < size:
            line = rng.choice(pool)
            lines.append(line)
            total += unit(line)
        rows.append({"id": f"d{i:07d}", "text": "\n".join(lines), "lang": lang})
    frame = pd.DataFrame(rows)
    frame["date"] = "2024-01-01T00:00:00Z"
    return frame


def signature_benchmark(frame: pd.DataFrame, num_perm: int) -> dict[str, float]:
    from datasketch import MinHash

    from udfs.dedup.config import NearDedupConfig
    from udfs.dedup.minhash import shingle_hashes, signatures

    conf = NearDedupConfig(num_perm=num_perm)
    n = len(frame)
    shingle_hashes(frame["text"][:20], frame["lang"][:20], conf.shingle, conf.text_key, conf.seed)  # warm-up
    started = time.perf_counter()
    shingles = shingle_hashes(frame["text"], frame["lang"], conf.shingle, conf.text_key, conf.seed)
    ours_shingles = time.perf_counter() - started
    signatures(shingles, num_perm, conf.seed)
    ours = time.perf_counter() - started

    started = time.perf_counter()
    python_shingles = [
        [s.encode("utf-8") for s in oracle_shingles(text, "char" if lang == "zh" else "word", 5)]
        for text, lang in zip(frame["text"], frame["lang"], strict=True)
    ]
    their_shingles = time.perf_counter() - started
    started = time.perf_counter()
    for items in python_shingles:
        MinHash(num_perm=num_perm).update_batch(items)
    update_batch = time.perf_counter() - started
    started = time.perf_counter()
    MinHash.bulk(python_shingles, num_perm=num_perm)
    bulk = time.perf_counter() - started
    return {
        "docs": n,
        "shingles": len(shingles.hashes),
        "ours_docs_per_s": n / ours,
        "ours_shingling_share": ours_shingles / ours,
        "datasketch_update_batch_docs_per_s": n / (their_shingles + update_batch),
        "datasketch_bulk_docs_per_s": n / (their_shingles + bulk),
        "datasketch_bulk_without_shingling_docs_per_s": n / bulk,
    }


def end_to_end(master: str, docs: int, work_dir: str) -> dict[str, Any]:
    """Run in a subprocess: a fresh Spark session, exact + near dedup of ``docs`` documents, timed."""
    from pyspark.sql import functions as F

    from bench.dedup_quality import make_spark
    from jobs.stages.dedup import apply_exact_dedup, apply_near_dedup
    from udfs.dedup.config import DedupConfig

    spark = make_spark(master)
    corpus = speed_corpus(docs)
    frame = spark.createDataFrame(corpus).select(
        "*", F.lit(None).cast("string").alias("stage"), F.lit(None).cast("string").alias("reason")
    )
    frame = frame.repartition(8).localCheckpoint()  # input materialized: time dedup, not pandas → Spark
    conf = DedupConfig()
    started = time.perf_counter()
    result = apply_near_dedup(apply_exact_dedup(frame, conf), conf, work_dir)
    counts = {r["reason"]: r["count"] for r in result.groupBy("reason").count().collect()}
    seconds = time.perf_counter() - started
    spark.stop()
    return {"master": master, "docs": docs, "seconds": seconds, "outcome": {str(k): v for k, v in counts.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000, help="documents of the 1x end-to-end run")
    parser.add_argument("--sig-docs", type=int, default=1000, help="documents of the signature benchmark")
    parser.add_argument("--num-perm", type=int, default=112)
    parser.add_argument("--work-dir", default="/tmp/cc-refinery-dedup-speed")
    parser.add_argument("--child", nargs=2, metavar=("MASTER", "DOCS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        master, docs = args.child[0], int(args.child[1])
        print(json.dumps(end_to_end(master, docs, f"{args.work_dir}/{master[6:-1]}-{docs}")))
        return

    sig = signature_benchmark(speed_corpus(args.sig_docs), args.num_perm)
    print(f"signatures, one core, {sig['docs']} docs, {sig['shingles']} shingles, {args.num_perm} permutations:")
    print(
        f"  ours                           {sig['ours_docs_per_s']:9.0f} docs/s"
        f"  (shingling+hashing {sig['ours_shingling_share']:.0%} of it)"
    )
    for key, label in (
        ("datasketch_update_batch_docs_per_s", "datasketch update_batch"),
        ("datasketch_bulk_docs_per_s", "datasketch MinHash.bulk"),
        ("datasketch_bulk_without_shingling_docs_per_s", "datasketch bulk, shingles free"),
    ):
        print(f"  {label:<30} {sig[key]:9.0f} docs/s   ours / it = {sig['ours_docs_per_s'] / sig[key]:.1f}x")

    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    runs = {}
    for master in ("local[1]", "local[2]"):
        for factor in (1, 2):
            docs = args.docs * factor
            out = subprocess.run(
                [sys.executable, __file__, "--child", master, str(docs), "--work-dir", args.work_dir],
                capture_output=True, text=True, env=env, check=True,
            )  # fmt: skip
            result = json.loads(out.stdout.strip().splitlines()[-1])
            runs[(master, factor)] = result["seconds"]
            print(f"end to end {master} {docs:>6} docs: {result['seconds']:6.1f}s  {result['outcome']}")
    for master in ("local[1]", "local[2]"):
        print(f"  {master}: 2x data / 1x data time = {runs[(master, 2)] / runs[(master, 1)]:.2f}")
    for factor in (1, 2):
        ratio = runs[("local[1]", factor)] / runs[("local[2]", factor)]
        print(f"  {factor}x data: local[1] / local[2] time = {ratio:.2f}")


if __name__ == "__main__":
    main()
