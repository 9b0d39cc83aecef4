"""Per-stage speed of the shard phase's Python pass (``udfs.document_pass``), without Spark.

Reads WET files with our reader, then times each per-document stage on the same batches in this process:
ingest (read + decode), normalize, langid, quality tags, dedup band keys + sketch, and the fused pass as the
sharded pipeline runs it (``add_scores``); then the finalize phase's pass (``finalize_documents``: PII, tokens).
Figures are MB of WET text (UTF-8 bytes of the record bodies) per CPU second of this process (``process_time``:
other load on a shared machine does not count), so they compare directly with the pipeline's per-core rates. Use
``py-spy record -o prof.svg -- python bench/document_pass_profile.py ...`` to see inside a stage.

    .venv/bin/python bench/document_pass_profile.py --wet .cache/bench/c10 [--conf conf/local.yaml] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from udfs.config import load_config
from udfs.document_pass import add_scores, finalize_documents, pass_columns
from udfs.ingest import read_file_rows
from udfs.warc import ReaderLimits

STAGES = ("normalize", "langid", "quality", "dedup")
FINALIZE_STAGES = ("pii", "tokens")


def wet_files(specs: list[str]) -> list[str]:
    files: list[str] = []
    for spec in specs:
        path = Path(spec)
        files += sorted(str(p) for p in path.glob("*.wet*")) if path.is_dir() else [spec]
    return files


def read_batches(files: list[str], conf, batch_size: int) -> list[dict]:
    limits = ReaderLimits(conf.ingest.max_record_bytes, conf.ingest.max_invalid_utf8_ratio)
    batches = []
    for index, path in enumerate(files):
        for batch in read_file_rows(index, path, conf.s3, limits, batch_size):
            columns = batch.to_pydict()
            if any(kind == "doc" for kind in columns["_kind"]):
                batches.append(columns)
    return batches


def timed(label: str, work, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wet", nargs="+", required=True)
    parser.add_argument("--conf", default="conf/local.yaml")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    conf = load_config(args.conf)
    files = wet_files(args.wet)
    batch_size = conf.ingest.batch_size

    start = time.process_time()
    batches = read_batches(files, conf, batch_size)
    ingest_s = time.process_time() - start
    live = [[t for t, r in zip(b["text"], b["reason"], strict=True) if r is None] for b in batches]
    urls = [[u for u, r in zip(b["url"], b["reason"], strict=True) if r is None] for b in batches]
    mb = sum(len(t.encode()) for texts in live for t in texts) / 1e6
    docs = sum(len(texts) for texts in live)

    from udfs.dedup.minhash import batch_band_hashes
    from udfs.langid import detect_languages
    from udfs.normalize import normalize_batch
    from udfs.quality.rules import tag_batch

    # Warm every lazily loaded model and table once, so the stage figures are steady-state.
    add_scores(dict(batches[0]), STAGES, conf, pass_columns(STAGES, conf))

    normalized = [normalize_batch(pd.DataFrame({"text": t}), conf.normalize)["text"] for t in live]
    langs = [detect_languages(t, conf.langid)["lang"] for t in normalized]
    frames = [pd.DataFrame({"text": t, "url": u, "lang": g}) for t, u, g in zip(normalized, urls, langs, strict=True)]
    near = conf.dedup.near
    stage_seconds = {
        "ingest (read+decode)": ingest_s,
        "normalize": timed("normalize", lambda: [normalize_batch(pd.DataFrame({"text": t}), conf.normalize)
                                                 for t in live], args.repeat),
        "langid": timed("langid", lambda: [detect_languages(t, conf.langid) for t in normalized], args.repeat),
        "quality": timed("quality", lambda: [tag_batch(f, conf.quality) for f in frames], args.repeat),
        "dedup keys": timed("dedup", lambda: [batch_band_hashes(f["text"], f["lang"], near,
                                                                sketch_size=near.verify_sketch_size)
                                              for f in frames], args.repeat),
        "fused pass": timed("fused", lambda: [add_scores(dict(b), STAGES, conf, pass_columns(STAGES, conf))
                                              for b in batches], args.repeat),
        # The finalize phase's pass (PII, then tokens) over every live page: the pipeline runs it on the kept ones
        # only, so its seconds here are an upper bound, and its MB/s the rate on that page mix.
        "finalize pass": timed("finalize", lambda: [finalize_documents(f[["text", "lang"]], FINALIZE_STAGES, conf)
                                                    for f in frames], args.repeat),
    }
    rows = {name: {"seconds": round(s, 3), "mb_per_s": round(mb / s, 2)} for name, s in stage_seconds.items()}
    print(f"{len(files)} files, {docs} live documents, {mb:.2f} MB of text")
    for name, row in rows.items():
        print(f"{name:22s} {row['seconds']:8.3f} s {row['mb_per_s']:8.2f} MB/s")
    if args.json:
        Path(args.json).write_text(json.dumps({"docs": docs, "mb": mb, "stages": rows}, indent=2))


if __name__ == "__main__":
    main()
