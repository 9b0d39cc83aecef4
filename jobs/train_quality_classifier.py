"""Train the GPT-3-style quality classifier: fastText, reference text (positives) vs Common Crawl (negatives).

    python -m jobs.train_quality_classifier --positives wiki_en/*.txt \
        --negatives out/documents --lang en --output models/quality_en.bin

Positives: text files (one document a line) or Parquet (``--positives-format parquet --column text``), e.g.
encyclopedia or news text. Negatives: documents sampled from ingested Common Crawl — the Parquet ``documents/`` of
an earlier run (``--negatives-format parquet``, filtered to ``--lang`` when it has a ``lang`` column) or WET files
ingested on the fly (``--negatives-format wet``, live records only) — ``--negative-ratio`` negatives per positive
(the larger side is sampled down). Spark turns every document into one fastText line
(``udfs.quality_classifier.classifier_line``, the same function the stage scores with); the lines stream to the
driver (``toLocalIterator``), a deterministic share (hash of the line) is held out, fastText trains on the rest,
and precision/recall of the high-quality label on the held-out part are printed and written to ``<output
stem>.metrics.json`` next to the model.

Shipping the model: ``spark-submit --files s3://bucket/models/quality_en.bin`` with
``--set quality_classifier.models.en=quality_en.bin`` (executors find the name with ``SparkFiles.get``), or
``--archives s3://bucket/models.tar.gz#models`` with ``--set quality_classifier.models.en=models/quality_en.bin``
(YARN on EMR and Dataproc unpack archives into each container's working directory). A fastText ``.bin`` is loaded
into the memory of every Python worker (it cannot be memory-mapped): size ``spark.executor.pyspark.memory`` for it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # spark-submit jobs/train_quality_classifier.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from jobs.base import LOG, Job
from jobs.train_kenlm import check_training_paths, read_text_column
from udfs.config import PipelineConfig
from udfs.errors import ConfigError, InputError
from udfs.quality_classifier import NEGATIVE_LABEL, POSITIVE_LABEL


def labelled_lines(frame: Any, label: str, max_chars: int) -> Any:
    """``<label> <normalized document>`` for each non-empty document, computed in the executors."""
    from udfs.quality_classifier import classifier_line

    def to_lines(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            lines = (classifier_line(text or "", max_chars) for text in batch["text"])
            yield pd.DataFrame({"line": pd.Series([f"{label} {line}" for line in lines if line], dtype=object)})

    return frame.select("text").mapInPandas(to_lines, "line string")


def read_negatives(spark: Any, paths: list[str], input_format: str, lang: str | None, conf: PipelineConfig) -> Any:
    from pyspark.sql import functions as F

    if input_format == "wet":
        from jobs.stages.ingest import read_wet_files, resolve_wet_inputs

        frame, _ = read_wet_files(spark, resolve_wet_inputs(paths, conf), conf)
        return frame.where(F.col("reason").isNull()).select("text")
    frame = spark.read.parquet(*paths)
    if "text" not in frame.columns:
        raise InputError(f"--negatives: no text column in {', '.join(paths)}")
    if lang and "lang" in frame.columns:
        frame = frame.where(F.col("lang") == lang)
    return frame.select("text")


def held_out(line: str, share: float, seed: int) -> bool:
    """Deterministic split: the same line always falls on the same side for a given seed."""
    return zlib.crc32(line.encode("utf-8"), seed) % 10_000 < share * 10_000


def precision_recall(model: Any, lines: list[str]) -> dict[str, float]:
    """Precision and recall of the high-quality label (predicted when P(hq) >= 0.5) on labelled lines."""
    from udfs.quality_classifier import positive_probability

    truth = np.array([line.startswith(POSITIVE_LABEL + " ") for line in lines])
    texts = [line.split(" ", 1)[1] if " " in line else "" for line in lines]
    predicted = positive_probability(model, texts) >= 0.5 if lines else np.zeros(0, dtype=bool)
    true_positive = int((predicted & truth).sum())
    return {
        "precision": true_positive / max(1, int(predicted.sum())),
        "recall": true_positive / max(1, int(truth.sum())),
        "accuracy": float((predicted == truth).mean()) if lines else 0.0,
        "held_out": len(lines),
        "held_out_positives": int(truth.sum()),
    }


class TrainQualityClassifierJob(Job):
    name = "train_quality_classifier"
    description = __doc__ or ""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--positives", nargs="+", required=True, help="reference text: text files (a document "
                            "a line) or Parquet")
        parser.add_argument("--positives-format", choices=("text", "parquet"), default="text")
        parser.add_argument("--column", default="text", help="Parquet column of the positives")
        parser.add_argument("--negatives", nargs="+", required=True, help="Common Crawl: documents/ Parquet of a "
                            "run, or WET files/globs/manifests with --negatives-format wet")
        parser.add_argument("--negatives-format", choices=("parquet", "wet"), default="parquet")
        parser.add_argument("--lang", default=None, help="keep negatives of this language (Parquet lang column)")
        parser.add_argument("--negative-ratio", type=float, default=1.0, help="negatives sampled per positive")
        parser.add_argument("--holdout", type=float, default=0.1, help="share of lines held out for evaluation")
        parser.add_argument("--seed", type=int, default=0, help="sampling and split seed")
        parser.add_argument("--max-chars", type=int, default=20000, help="characters of a document used")
        parser.add_argument("--epoch", type=int, default=5)
        parser.add_argument("--lr", type=float, default=0.5)
        parser.add_argument("--word-ngrams", type=int, default=2)
        parser.add_argument("--dim", type=int, default=64)
        parser.add_argument("--output", required=True, help="local model path (.bin); metrics go next to it")

    def validate_arguments(self, args: argparse.Namespace, conf: PipelineConfig) -> None:
        if not 0 < args.holdout < 0.5:
            raise ConfigError("--holdout: must be within (0, 0.5)")
        if args.negative_ratio <= 0:
            raise ConfigError("--negative-ratio: must be > 0")
        inputs = {"--positives": args.positives, "--negatives": args.negatives}
        check_training_paths(inputs, args.output, "a local path")

    def run_job(self, spark: Any, args: argparse.Namespace, conf: PipelineConfig) -> int:
        import fasttext

        positives = labelled_lines(
            read_text_column(spark, args.positives, args.positives_format, args.column, None), POSITIVE_LABEL,
            args.max_chars,
        ).persist()
        negatives = labelled_lines(
            read_negatives(spark, args.negatives, args.negatives_format, args.lang, conf), NEGATIVE_LABEL,
            args.max_chars,
        ).persist()
        positive_count, negative_count = positives.count(), negatives.count()
        if not positive_count or not negative_count:
            raise InputError(f"need positives and negatives (got {positive_count} and {negative_count})")
        # Balance to --negative-ratio by sampling down whichever side is larger (a skewed prior biases the score).
        sampled_negatives, sampled_positives = negatives, positives
        if negative_count > args.negative_ratio * positive_count:
            fraction = args.negative_ratio * positive_count / negative_count
            sampled_negatives = negatives.sample(fraction=fraction, seed=args.seed)
        elif negative_count < args.negative_ratio * positive_count:
            fraction = negative_count / (args.negative_ratio * positive_count)
            sampled_positives = positives.sample(fraction=fraction, seed=args.seed)

        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="quality-classifier-") as scratch:
            train_path, test_lines = os.path.join(scratch, "train.txt"), []
            counts = {POSITIVE_LABEL: 0, NEGATIVE_LABEL: 0}
            with open(train_path, "w", encoding="utf-8") as train:
                for row in sampled_positives.unionByName(sampled_negatives).toLocalIterator():
                    line = row["line"]
                    if held_out(line, args.holdout, args.seed):
                        test_lines.append(line)
                    else:
                        train.write(line + "\n")
                        counts[line.split(" ", 1)[0]] += 1
            LOG.info("training on %d positives, %d negatives; %d held out", counts[POSITIVE_LABEL],
                     counts[NEGATIVE_LABEL], len(test_lines))
            model = fasttext.train_supervised(
                input=train_path, epoch=args.epoch, lr=args.lr, wordNgrams=args.word_ngrams, dim=args.dim,
                minCount=1, thread=1, seed=args.seed, verbose=0,
            )
        model.save_model(str(output))
        positives.unpersist()
        negatives.unpersist()
        metrics = precision_recall(model, test_lines) | {
            "train_positives": counts[POSITIVE_LABEL],
            "train_negatives": counts[NEGATIVE_LABEL],
            "model": str(output),
        }
        metrics_path = output.with_suffix(".metrics.json")
        metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        print(f"held-out precision {metrics['precision']:.3f} recall {metrics['recall']:.3f} "
              f"({metrics['held_out']} lines); wrote {output} and {metrics_path}")
        return 0


if __name__ == "__main__":
    TrainQualityClassifierJob().run()
