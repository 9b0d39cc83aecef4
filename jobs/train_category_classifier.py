"""Train the source-category classifier: fastText over page text, labelled by the URL rules (distant supervision).

    python -m jobs.train_category_classifier --input out/documents --output models/category.bin
    python -m jobs.train_category_classifier --input crawl/*.wet.gz --input-format wet --output models/category.bin

Labels: each page's category from the URL rules of ``categories.rules`` (recomputed from ``url``, ``domain`` and
``lang``, never read from a ``category`` column, which may hold an earlier classifier's guesses). Pages the rules
leave at ``fallback`` are a class of their own (``__label__other``): the model must be able to answer "none of
these", and the stage takes a category only when it beats ``other`` and reaches ``categories.classifier_min_score``.
Those pages are noisy negatives (some are news or forum pages whose URL says nothing), which costs recall, not
precision — the side we favour.

Sampling: at most ``--max-per-site`` pages of one site (registrable domain) per label, so no large site dominates
its class, then at most ``--max-per-category`` pages per category, and as many ``other`` pages as the largest
category has (balanced: ``other`` is most of a crawl, and a skewed prior would push every score towards it); which
pages is a hash of the URL and ``--seed``.

Validation: whole sites are held out (``--holdout`` of the registrable domains, by a hash of the name), so the model
is measured on hosts it never saw and cannot score by memorising them. Precision, recall and support per category
on the held-out pages, at ``categories.classifier_min_score`` and at a few other thresholds, are printed and written
to ``<output stem>.metrics.json`` next to the model. Scores are against the URL labels: a held-out ``other`` page
that the model calls news may truly be news, so precision is a lower bound on pages whose URL is silent.

Training is deterministic for given inputs and arguments: the lines are sorted by their hash before fastText reads
them, and fastText runs one thread with ``--seed``. The model goes to ``categories.classifier_model``; ship it like
the quality classifier's (``--files`` or ``--archives models.tar.gz#models``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # spark-submit jobs/train_category_classifier.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from jobs.base import LOG, Job
from jobs.train_kenlm import check_training_paths
from udfs.categories import LABEL_PREFIX, CategoriesConfig, site_of
from udfs.config import PipelineConfig
from udfs.errors import ConfigError, InputError

THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
"""Thresholds at which the metrics file also reports precision and coverage (to choose classifier_min_score)."""


def read_pages(spark: Any, paths: list[str], input_format: str, conf: PipelineConfig) -> Any:
    """A frame of ``text``, ``url``, ``domain`` and ``lang`` (null when absent) of the live pages of the inputs."""
    from pyspark.sql import functions as F

    if input_format == "wet":
        from jobs.stages.ingest import read_wet_files, resolve_wet_inputs

        frame, _ = read_wet_files(spark, resolve_wet_inputs(paths, conf), conf)
        frame = frame.where(F.col("reason").isNull())
    else:
        frame = spark.read.parquet(*paths)
        missing = {"text", "url"} - set(frame.columns)
        if missing:
            raise InputError(f"--input: no {', '.join(sorted(missing))} column in {', '.join(paths)}")
    lang = F.col("lang") if "lang" in frame.columns else F.lit(None).cast("string")
    domain = F.col("domain") if "domain" in frame.columns else F.lit(None).cast("string")
    return frame.select("text", "url", domain.alias("domain"), lang.alias("lang"))


def labelled_pages(pages: Any, conf: CategoriesConfig, min_chars: int) -> Any:
    """``label`` (URL rules), ``site`` and the fastText ``line`` of every page with at least ``min_chars`` characters
    of text; computed in the executors."""
    from pyspark.sql import functions as F

    from jobs.stages.tokens import category_column
    from udfs.categories import classifier_line
    from udfs.warc import domain_of

    max_chars = conf.classifier_max_chars

    def to_lines(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            domains = [d or domain_of(u or "") or "" for d, u in zip(batch["domain"], batch["url"], strict=True)]
            lines = [classifier_line(t or "", max_chars) for t in batch["text"]]
            yield pd.DataFrame({
                "label": batch["label"].astype(object), "url": batch["url"].astype(object),
                "site": [site_of(d) for d in domains], "line": lines,
            })

    long_enough = pages.where(F.char_length("text") >= min_chars)
    labelled = long_enough.withColumn("label", category_column(conf, F.col("lang")))
    return labelled.mapInPandas(to_lines, "label string, url string, site string, line string").where(
        F.col("line") != ""
    )


def sample(labelled: Any, fallback: str, max_per_site: int, max_per_category: int, holdout: float, seed: int) -> Any:
    """Capped per (label, site), then per label (``fallback`` at the largest category's count), in a seeded hash
    order; with ``held_out`` by site; sorted by that order."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = F.xxhash64(F.lit(seed), F.col("url"), F.col("line"))
    keyed = labelled.withColumn("_key", order)
    per_site = keyed.withColumn("_n", F.row_number().over(Window.partitionBy("label", "site").orderBy("_key", "line")))
    capped = per_site.where(F.col("_n") <= max_per_site).drop("_n")
    # fallback pages are the bulk of a crawl: capped at the largest category's count, so the classes stay balanced.
    counts = {r["label"]: int(r["n"]) for r in capped.groupBy("label").agg(F.count(F.lit(1)).alias("n")).collect()}
    largest_category = max([n for label, n in counts.items() if label != fallback], default=0)
    fallback_cap = min(max_per_category, largest_category)
    per_label = capped.withColumn("_n", F.row_number().over(Window.partitionBy("label").orderBy("_key", "line")))
    cap = F.when(F.col("label") == F.lit(fallback), F.lit(fallback_cap)).otherwise(F.lit(max_per_category))
    chosen = per_label.where(F.col("_n") <= cap).drop("_n")
    # By a hash of the site alone, so every page of a registrable domain falls on the same side.
    held_out = F.pmod(F.xxhash64(F.lit(seed), F.col("site")), F.lit(10_000)) < F.lit(int(holdout * 10_000))
    return chosen.withColumn("held_out", held_out).orderBy("_key", "line")


def evaluate(model: Any, labels: list[str], lines: list[str], conf: CategoriesConfig) -> dict[str, Any]:
    """Per category precision/recall/support on labelled lines, at the conf's thresholds (``classifier_min_score``,
    ``classifier_min_scores``) and at each of :data:`THRESHOLDS`: a page is predicted a category when the model's
    top label is that category with at least the threshold, else ``fallback`` (the stage's rule,
    udfs.categories.classify_documents)."""
    from udfs.categories import predict_categories

    truth = np.array(labels, dtype=object)
    if lines:
        top, top_score, _ = predict_categories(model, lines, conf.fallback)
    else:
        top, top_score = np.zeros(0, dtype=object), np.zeros(0)

    def at(threshold: float | None) -> dict[str, Any]:
        """Decisions at one threshold for every category, or (None) at the conf's thresholds."""
        minimum = conf.min_scores_of(top) if threshold is None else threshold
        predicted = np.where((top != conf.fallback) & (top_score >= minimum), top, conf.fallback)
        per_category = {}
        for category in sorted(set(truth) | set(predicted)):
            if category == conf.fallback:
                continue
            hits = int(((predicted == category) & (truth == category)).sum())
            n_predicted, support = int((predicted == category).sum()), int((truth == category).sum())
            per_category[category] = {
                "precision": hits / n_predicted if n_predicted else None,
                "recall": hits / support if support else None,
                "support": support, "predicted": n_predicted,
            }
        categorized = predicted != conf.fallback
        right = int((categorized & (predicted == truth)).sum())
        return {
            "threshold": conf.classifier_min_score if threshold is None else threshold, "per_category": per_category,
            "precision": right / int(categorized.sum()) if categorized.any() else None,
            "recall": right / int((truth != conf.fallback).sum()) if (truth != conf.fallback).any() else None,
            # Share of the held-out pages the URL rules left at fallback that the classifier would categorize.
            "coverage_of_fallback": float(categorized[truth == conf.fallback].mean())
            if (truth == conf.fallback).any() else None,
        }

    chosen = at(None)
    return chosen | {"held_out": len(lines), "min_scores": dict(conf.classifier_min_scores),
                     "by_threshold": [at(t) for t in THRESHOLDS]}


class TrainCategoryClassifierJob(Job):
    name = "train_category_classifier"
    description = __doc__ or ""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--input", nargs="+", required=True, help="pages with text and url: documents/ Parquet "
                            "of a run, or WET files/globs/manifests with --input-format wet")
        parser.add_argument("--input-format", choices=("parquet", "wet"), default="parquet")
        parser.add_argument("--max-per-category", type=int, default=5000, help="pages per label (other included)")
        parser.add_argument("--max-per-site", type=int, default=50, help="pages of one site per label")
        parser.add_argument("--min-chars", type=int, default=200, help="shorter pages are not used")
        parser.add_argument("--holdout", type=float, default=0.2, help="share of sites held out for evaluation")
        parser.add_argument("--seed", type=int, default=0, help="sampling, split and training seed")
        parser.add_argument("--epoch", type=int, default=10)
        parser.add_argument("--lr", type=float, default=0.5)
        parser.add_argument("--word-ngrams", type=int, default=2)
        parser.add_argument("--dim", type=int, default=64)
        parser.add_argument("--min-count", type=int, default=2, help="fastText: rarer words are dropped")
        parser.add_argument("--output", required=True, help="local model path (.bin); metrics go next to it")

    def validate_arguments(self, args: argparse.Namespace, conf: PipelineConfig) -> None:
        if not 0 < args.holdout < 0.5:
            raise ConfigError("--holdout: must be within (0, 0.5)")
        for flag in ("max_per_category", "max_per_site", "epoch", "dim", "min_count"):
            if getattr(args, flag) < 1:
                raise ConfigError(f"--{flag.replace('_', '-')}: must be >= 1")
        if not conf.categories.enabled:
            raise ConfigError("categories.enabled: false leaves no URL rules to label pages with")
        check_training_paths({"--input": args.input}, args.output, "a local path")

    def run_job(self, spark: Any, args: argparse.Namespace, conf: PipelineConfig) -> int:
        import fasttext

        categories = conf.categories
        pages = read_pages(spark, args.input, args.input_format, conf)
        chosen = sample(labelled_pages(pages, categories, args.min_chars), categories.fallback, args.max_per_site,
                        args.max_per_category, args.holdout, args.seed)
        output = Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        train_counts: dict[str, int] = {}
        test_labels: list[str] = []
        test_lines: list[str] = []
        sites: dict[bool, set[str]] = {False: set(), True: set()}
        with tempfile.TemporaryDirectory(prefix="category-classifier-") as scratch:
            train_path = os.path.join(scratch, "train.txt")
            with open(train_path, "w", encoding="utf-8") as train:
                for row in chosen.select("label", "site", "line", "held_out").toLocalIterator():
                    sites[row["held_out"]].add(row["site"])
                    if row["held_out"]:
                        test_labels.append(row["label"])
                        test_lines.append(row["line"])
                    else:
                        train.write(f"{LABEL_PREFIX}{row['label']} {row['line']}\n")
                        train_counts[row["label"]] = train_counts.get(row["label"], 0) + 1
            labels = sorted(train_counts)
            if len(labels) < 2 or labels == [categories.fallback]:
                raise InputError(
                    f"need pages of at least two labels, one a category, to train on (got {train_counts or 'none'}): "
                    "the URL rules named no category on the training side of these inputs"
                )
            LOG.info("training on %s; %d held-out pages", train_counts, len(test_lines))
            model = fasttext.train_supervised(
                input=train_path, epoch=args.epoch, lr=args.lr, wordNgrams=args.word_ngrams, dim=args.dim,
                minCount=args.min_count, thread=1, seed=args.seed, verbose=0,
            )
        model.save_model(str(output))
        metrics = evaluate(model, test_labels, test_lines, categories) | {
            "train": train_counts,
            "held_out_by_label": {label: test_labels.count(label) for label in sorted(set(test_labels))},
            "train_sites": len(sites[False]), "held_out_sites": len(sites[True]),
            "shared_sites": len(sites[False] & sites[True]),
            "model": str(output), "min_score": categories.classifier_min_score,
            "max_chars": categories.classifier_max_chars,
        }
        metrics_path = output.with_suffix(".metrics.json")
        metrics_path.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        print(f"held-out sites: {metrics['held_out_sites']} ({metrics['held_out']} pages); at min_score "
              f"{categories.classifier_min_score}:")
        for category, row in metrics["per_category"].items():
            precision = "-" if row["precision"] is None else f"{row['precision']:.3f}"
            recall = "-" if row["recall"] is None else f"{row['recall']:.3f}"
            print(f"  {category:<14} precision {precision:>5}  recall {recall:>5}  support {row['support']:>6}  "
                  f"predicted {row['predicted']:>6}")
        print(f"wrote {output} and {metrics_path}")
        return 0


if __name__ == "__main__":
    TrainCategoryClassifierJob().run()
