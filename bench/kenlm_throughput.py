"""KenLM perplexity scoring throughput (documents/s on one core) and the cost of loading a model per Python worker.

    .venv/bin/python bench/kenlm_throughput.py [--model en.binary] [--docs 2000] [--paragraphs 8]

Without ``--model`` a 5-gram model of ``--lang`` (en, zh) is trained on tests/fixtures/reference (lmplz from
scripts/build_kenlm.sh). Documents are made of reference paragraphs (deterministic shuffle). Baselines measured in
the same run, since the machine is shared:

- scoring vs normalization alone: how much of ``score_documents`` is KenLM and how much is our Python
  normalization/tokenization (the part we could still speed up);
- loading vs scoring one Arrow batch (``--batch`` documents): what a worker pays once for the model, in batches.
  ``LAZY`` (mmap, what the stage uses) vs ``READ`` (copy into the process) shows what memory-mapping saves; a
  ``.binary`` on local disk is shared by all workers of a machine through the page cache.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import pandas as pd  # noqa: E402

from udfs.perplexity import PerplexityConfig, normalize_for_lm, score_documents  # noqa: E402

REFERENCES = {
    "en": REPO_ROOT / "tests" / "fixtures" / "reference" / "en_python_docs.txt",
    "zh": REPO_ROOT / "tests" / "fixtures" / "dedup" / "zh_reviews.txt",
}


def train_model(folder: Path, lang: str) -> str:
    from jobs.train_kenlm import train_kenlm_binary

    bin_dir = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "build_kenlm.sh")], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    corpus = folder / f"{lang}.txt"
    lines = REFERENCES[lang].read_text(encoding="utf-8").splitlines()
    corpus.write_text("\n".join(line for text in lines for line in normalize_for_lm(text)) + "\n", encoding="utf-8")
    return train_kenlm_binary(str(corpus), str(folder / lang), 5, "200M", bin_dir)


def make_documents(count: int, paragraphs: int, lang: str) -> list[str]:
    lines = [line for line in REFERENCES[lang].read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = random.Random(0)
    return ["\n".join(rng.sample(lines, paragraphs)) for _ in range(count)]


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="KenLM .binary to use (default: train one on the fixtures)")
    parser.add_argument("--lang", choices=sorted(REFERENCES), default="en", help="reference text (and model)")
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--paragraphs", type=int, default=8, help="paragraphs per document")
    parser.add_argument("--batch", type=int, default=1000, help="documents per Arrow batch for the load ratio")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import kenlm

    with tempfile.TemporaryDirectory(prefix="kenlm-bench-") as scratch:
        model_path = args.model or train_model(Path(scratch), args.lang)
        size_mb = Path(model_path).stat().st_size / 1e6
        docs = make_documents(args.docs, args.paragraphs, args.lang)
        texts, langs = pd.Series(docs), pd.Series([args.lang] * len(docs))
        megabytes = sum(len(d.encode("utf-8")) for d in docs) / 1e6
        conf = PerplexityConfig(models={args.lang: model_path})
        score_documents(texts[:10], langs[:10], conf)  # load once (cached per process, as in a worker)

        normalize_s = best_of(args.repeats, lambda: [normalize_for_lm(d) for d in docs])
        score_s = best_of(args.repeats, lambda: score_documents(texts, langs, conf))
        batch = min(args.batch, len(docs))
        batch_s = score_s * batch / len(docs)

        def load(method: str) -> float:
            config = kenlm.Config()
            config.load_method = getattr(kenlm.LoadMethod, method)
            return best_of(args.repeats, lambda: kenlm.Model(model_path, config))

        lazy_s, read_s = load("LAZY"), load("READ")

    print(f"model {model_path if args.model else '(trained on ' + args.lang + ' fixtures, 5-gram)'}: {size_mb:.1f} MB")
    print(f"{len(docs)} documents, {megabytes:.2f} MB, {args.paragraphs} paragraphs each; best of {args.repeats}")
    print(f"normalize only      : {len(docs) / normalize_s:10.0f} docs/s  {megabytes / normalize_s:6.2f} MB/s")
    print(f"normalize + KenLM   : {len(docs) / score_s:10.0f} docs/s  {megabytes / score_s:6.2f} MB/s per core")
    print(f"  ratio scoring/normalize-only time = {score_s / normalize_s:.2f}x "
          f"(KenLM share of scoring time {(score_s - normalize_s) / score_s:.0%})")
    print(f"load LAZY (mmap)    : {lazy_s * 1e3:8.2f} ms = {lazy_s / batch_s:.4f}x one {batch}-doc batch "
          f"({batch_s * 1e3:.0f} ms)")
    print(f"load READ (copy)    : {read_s * 1e3:8.2f} ms = {read_s / batch_s:.4f}x one batch; "
          f"READ/LAZY = {read_s / lazy_s:.1f}x")


if __name__ == "__main__":
    main()
