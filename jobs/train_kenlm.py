"""Train a KenLM model on a reference corpus (CCNet trains one per language on Wikipedia), for ``perplexity``.

    scripts/build_kenlm.sh                                  # once: lmplz + build_binary into .cache/kenlm/bin
    python -m jobs.train_kenlm --input wiki_en/*.txt --output models/en --lang en
    python -m jobs.train_kenlm --input s3://bucket/wiki.parquet --input-format parquet --column text --output models/zh

Spark reads the corpus (text files: one paragraph a line; Parquet: a text column, split into paragraphs) and applies
exactly the normalization the scoring stage applies (``udfs.perplexity.normalize_line``). The normalized lines are
streamed to the driver (``toLocalIterator``: one partition in memory at a time) into a local file, on which
``lmplz`` estimates a modified-Kneser-Ney n-gram model and ``build_binary`` turns the ARPA file into KenLM's
binary format. Written: ``<output>.binary`` (the model), ``<output>.json`` (normalization settings, order and
corpus figures; the stage reads it next to the model so scoring normalizes like training).

Shipping the model to the executors:

- ``spark-submit --files models/en.binary,models/en.json`` (also ``s3://``/``gs://`` URLs) and
  ``--set perplexity.models.en=en.binary``: each executor downloads the files into its SparkFiles root, where the
  stage looks the name up (``SparkFiles.get``) when the path does not exist as given.
- ``spark-submit --archives models.tar.gz#models`` (``tar czf models.tar.gz -C models .``) and
  ``--set perplexity.models.en=models/en.binary``: YARN (EMR) and Dataproc unpack the archive into each container's
  working directory under the alias, so the relative path works as given. Both put the file on the executor's local
  disk, which is what lets KenLM memory-map it (``LoadMethod.LAZY``) once per machine through the page cache.
  On EMR, ``--files``/``--archives`` take ``s3://`` URLs; on Dataproc, ``gs://`` URLs (``gcloud dataproc jobs
  submit pyspark --files=... --archives=...``).

Input from ``s3://`` is read by Spark itself, so it needs the cluster's S3 connector (EMRFS on EMR, s3a elsewhere).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # spark-submit jobs/train_kenlm.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from jobs.base import LOG, REPO_ROOT, Job
from udfs.config import PipelineConfig
from udfs.errors import ConfigError, InputError

DEFAULT_KENLM_BIN = REPO_ROOT / ".cache" / "kenlm" / "bin"


def find_kenlm_tool(name: str, bin_dir: str | None) -> str:
    """``lmplz``/``build_binary`` from ``--kenlm-bin``, the cached build, or the PATH."""
    for directory in [bin_dir, str(DEFAULT_KENLM_BIN)]:
        if directory and os.access(os.path.join(directory, name), os.X_OK):
            return os.path.join(directory, name)
    found = shutil.which(name)
    if found:
        return found
    raise ConfigError(f"--kenlm-bin: {name} not found (build it once with scripts/build_kenlm.sh)")


def check_training_paths(inputs: dict[str, list[str]], output: str, output_kind: str) -> None:
    """Before Spark starts: every local input (per flag) exists, and the model goes to a local ``output``."""
    if "://" in output:
        raise ConfigError(f"--output: {output_kind} (copy the model to object storage afterwards)")
    for flag, paths in inputs.items():
        for path in paths:
            if "://" not in path and not glob.glob(path):
                raise InputError(f"{flag}: {path} not found")


def read_text_column(spark: Any, paths: list[str], input_format: str, column: str, lang: str | None) -> Any:
    """A frame with one string column ``text``: lines of text files, or a Parquet column (optionally one language)."""
    from pyspark.sql import functions as F

    if input_format == "text":
        return spark.read.text(paths).select(F.col("value").alias("text"))
    frame = spark.read.parquet(*paths)
    if column not in frame.columns:
        raise InputError(f"--column: {column!r} not in {', '.join(paths)} (columns: {', '.join(frame.columns)})")
    if lang and "lang" in frame.columns:
        frame = frame.where(F.col("lang") == lang)
    return frame.select(F.col(column).cast("string").alias("text"))


def normalized_lines(frame: Any) -> Any:
    """One row per normalized, tokenized, non-empty paragraph (the LM training lines), computed in the executors."""
    from udfs.perplexity import normalize_for_lm

    def normalize(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            lines = [line for text in batch["text"] for line in normalize_for_lm(text or "")]
            yield pd.DataFrame({"line": pd.Series(lines, dtype=object)})

    return frame.mapInPandas(normalize, "line string")


def write_corpus(frame: Any, target: str, max_lines: int | None) -> tuple[int, int]:
    """Stream the lines to a local file on the driver; returns (lines, tokens)."""
    if max_lines:
        frame = frame.limit(max_lines)
    lines = tokens = 0
    with open(target, "w", encoding="utf-8") as handle:
        for row in frame.toLocalIterator():
            handle.write(row["line"])
            handle.write("\n")
            lines += 1
            tokens += row["line"].count(" ") + 1
    return lines, tokens


def train_kenlm_binary(corpus: str, output_prefix: str, order: int, memory: str, bin_dir: str | None,
                       prune: list[int] | None = None) -> str:
    """lmplz → ARPA → build_binary; returns the ``.binary`` path. ``--discount_fallback`` lets small corpora train."""
    lmplz, build_binary = find_kenlm_tool("lmplz", bin_dir), find_kenlm_tool("build_binary", bin_dir)
    binary = f"{output_prefix}.binary"
    with tempfile.TemporaryDirectory(prefix="kenlm-") as scratch:
        arpa = os.path.join(scratch, "model.arpa")
        command = [lmplz, "-o", str(order), "-S", memory, "-T", scratch, "--discount_fallback"]
        if prune:
            command += ["--prune", *map(str, prune)]
        with open(corpus, "rb") as source, open(arpa, "wb") as sink:
            subprocess.run(command, stdin=source, stdout=sink, stderr=subprocess.PIPE, check=True)
        subprocess.run([build_binary, arpa, binary], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return binary


class TrainKenLMJob(Job):
    name = "train_kenlm"
    description = __doc__ or ""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--input", nargs="+", required=True, help="reference corpus: text files/dirs/globs or "
                            "Parquet (local, s3:// with the cluster's S3 connector)")
        parser.add_argument("--input-format", choices=("text", "parquet"), default="text",
                            help="text: one paragraph a line; parquet: documents in --column")
        parser.add_argument("--column", default="text", help="Parquet column holding the text")
        parser.add_argument("--lang", default=None, help="language of the model (recorded; filters a Parquet "
                            "input that has a lang column)")
        parser.add_argument("--output", required=True, help="local output prefix: writes <output>.binary and "
                            "<output>.json")
        parser.add_argument("--order", type=int, default=5, help="n-gram order (CCNet: 5)")
        parser.add_argument("--memory", default="1G", help="lmplz -S memory budget")
        parser.add_argument("--prune", type=int, nargs="*", default=None,
                            help="lmplz --prune thresholds per order (e.g. 0 0 1 to drop singleton 3+-grams)")
        parser.add_argument("--max-lines", type=int, default=None, help="use at most this many lines")
        parser.add_argument("--kenlm-bin", default=None, help=f"folder with lmplz/build_binary (default "
                            f"{DEFAULT_KENLM_BIN}, then PATH)")

    def validate_arguments(self, args: argparse.Namespace, conf: PipelineConfig) -> None:
        find_kenlm_tool("lmplz", args.kenlm_bin)
        find_kenlm_tool("build_binary", args.kenlm_bin)
        if not 1 <= args.order <= 6:
            raise ConfigError("--order: must be within 1..6 (scripts/build_kenlm.sh builds KENLM_MAX_ORDER=6)")
        check_training_paths({"--input": args.input}, args.output, "a local prefix")

    def run_job(self, spark: Any, args: argparse.Namespace, conf: PipelineConfig) -> int:
        from udfs.perplexity import Normalization

        started = time.time()
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        frame = normalized_lines(read_text_column(spark, args.input, args.input_format, args.column, args.lang))
        with tempfile.TemporaryDirectory(prefix="kenlm-corpus-") as scratch:
            corpus = os.path.join(scratch, "corpus.txt")
            lines, tokens = write_corpus(frame, corpus, args.max_lines)
            if lines == 0:
                raise InputError(f"--input: no text in {', '.join(args.input)}")
            LOG.info("corpus: %d lines, %d tokens; training a %d-gram model", lines, tokens, args.order)
            binary = train_kenlm_binary(corpus, args.output, args.order, args.memory, args.kenlm_bin, args.prune)
        settings = {
            "normalization": Normalization().as_dict(),
            "lang": args.lang,
            "order": args.order,
            "lines": lines,
            "tokens": tokens,
            "inputs": args.input,
            "seconds": round(time.time() - started, 1),
        }
        Path(f"{args.output}.json").write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {binary} and {args.output}.json ({lines} lines, {tokens} tokens)")
        return 0


if __name__ == "__main__":
    TrainKenLMJob().run()
