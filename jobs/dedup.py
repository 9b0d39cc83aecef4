"""Dedup only: exact, optional paragraph-level, and MinHash-LSH near-dedup of Parquet documents.

    python -m jobs.dedup --conf conf/local.yaml --input out/documents --output out-dedup/
    spark-submit jobs/dedup.py --conf conf/emr.yaml --input s3://bucket/run/documents/ --output s3://bucket/dedup/ \\
        --set dedup.near.index_path=s3://bucket/dedup-index/

Input is any Parquet with ``id`` and ``text`` columns (``lang`` and ``date`` are used when present): typically the
``documents/`` of an earlier run. Output has the pipeline's layout: ``documents/`` (kept), ``rejected/`` (with
``reason`` ``dedup:exact`` / ``dedup:near`` and ``duplicate_of``) and ``_manifest.json``. With
``dedup.near.index_path`` set, next month's crawl is deduplicated against this run's band index and appended to it.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # spark-submit jobs/dedup.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jobs.pipeline import PipelineJob


class DedupJob(PipelineJob):
    name = "dedup"
    description = __doc__ or ""
    fixed_stages = ("dedup",)


if __name__ == "__main__":
    DedupJob().run()
