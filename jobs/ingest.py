"""Ingest only: WET files (local, globs, s3://, wet.paths.gz manifests) → Parquet documents + rejected + manifest.

    python -m jobs.ingest --input s3://commoncrawl/crawl-data/CC-MAIN-2024-22/wet.paths.gz --output out/

Later stages can then run on ``out/documents`` with ``python -m jobs.pipeline --stages ... --input out/documents``.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # spark-submit jobs/ingest.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jobs.pipeline import PipelineJob


class IngestJob(PipelineJob):
    name = "ingest"
    description = __doc__ or ""
    fixed_stages = ("ingest",)


if __name__ == "__main__":
    IngestJob().run()
