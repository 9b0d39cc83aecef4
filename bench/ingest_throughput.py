"""Ingest throughput: MB/s of decompressed WET per core, against ``zcat`` of the same files in the same run.

    .venv/bin/python bench/ingest_throughput.py [--mb 200] [--spark]

Builds a CC-shaped corpus (one gzip member per record, like official WET files) from the bundled sample records,
then times, on the same files: ``zcat`` (decompression only: the floor), our streaming reader in one process
(decompress + parse + build rows), and with ``--spark`` the Spark ingest stage in local[1] (all of the above
plus Arrow hand-off to the JVM). Ratios are what matter: this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from udfs.ingest import read_file_rows  # noqa: E402
from udfs.sources import S3Settings  # noqa: E402
from udfs.warc import ReaderLimits, read_wet  # noqa: E402

SAMPLES = REPO / "tests" / "fixtures" / "wet"


def sample_records() -> list[bytes]:
    """Conversion records of the samples, re-serialised with correct lengths."""
    records = []
    for path in sorted(SAMPLES.glob("*.wet.gz")):
        with open(path, "rb") as handle:
            for doc in read_wet(handle, path.name):
                if doc.reason is None:
                    body = doc.text.encode()
                    head = (
                        f"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: {doc.url}\r\n"
                        f"WARC-Date: {doc.date}\r\nWARC-Record-ID: <urn:uuid:{doc.id}>\r\n"
                        f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
                    )
                    records.append(head.encode() + body + b"\r\n\r\n")
    return records


def build_corpus(folder: Path, megabytes: int, files: int) -> tuple[list[Path], int]:
    records = sample_records()
    target = megabytes * 1024 * 1024 // files
    paths, total = [], 0
    serial = 0
    for f in range(files):
        path = folder / f"CC-MAIN-2099-01-{f:05d}.warc.wet.gz"
        size = 0
        with open(path, "wb") as out:
            info = b"WARC/1.0\r\nWARC-Type: warcinfo\r\nContent-Length: 27\r\n\r\n"
            info += b"isPartOf: CC-MAIN-2099-01\r\n\r\n\r\n"
            out.write(gzip.compress(info, compresslevel=6))
            while size < target:
                record = records[serial % len(records)]
                # unique ids so the corpus has no duplicate-id rejections
                record = record.replace(b"<urn:uuid:", f"<urn:uuid:{serial:09d}-".encode(), 1)
                out.write(gzip.compress(record, compresslevel=6))
                size += len(record)
                serial += 1
        paths.append(path)
        total += size
    return paths, total


def time_zcat(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        subprocess.run(["zcat", str(path)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def time_reader(paths: list[Path]) -> tuple[float, int]:
    started = time.perf_counter()
    rows = 0
    for index, path in enumerate(paths):
        for frame in read_file_rows(index, str(path), S3Settings(), ReaderLimits(), 1000):
            rows += frame.num_rows
    return time.perf_counter() - started, rows


def time_spark(paths: list[Path]) -> float:
    code = f"""
import sys, time
sys.path.insert(0, {str(REPO)!r})
from pyspark.sql import SparkSession
from udfs.config import load_config
from jobs.stages.ingest import read_wet_files
spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
         .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
conf = load_config({str(REPO / 'conf' / 'local.yaml')!r})
warm = read_wet_files(spark, [{str(paths[0])!r}], conf)[0].count()  # start Python workers before timing
started = time.perf_counter()
frame, reports = read_wet_files(spark, {[str(p) for p in paths]!r}, conf)
frame.write.mode("overwrite").format("noop").save()
print(time.perf_counter() - started)
"""
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=200, help="decompressed corpus size")
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--spark", action="store_true", help="also time the Spark ingest stage in local[1]")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths, total = build_corpus(Path(tmp), args.mb, args.files)
        mb = total / 1e6
        compressed = sum(p.stat().st_size for p in paths) / 1e6
        print(f"corpus: {len(paths)} multi-member WET files, {mb:.0f} MB decompressed, {compressed:.0f} MB gzip")
        zcat_s = time_zcat(paths)
        reader_s, rows = time_reader(paths)
        print(f"zcat (decompress only, 1 core):      {mb / zcat_s:8.1f} MB/s")
        print(f"cc-refinery reader (1 core):         {mb / reader_s:8.1f} MB/s  ({rows} rows)  "
              f"= {zcat_s / reader_s:.2f} x zcat")
        if args.spark:
            spark_s = time_spark(paths)
            print(f"Spark ingest stage, local[1]:        {mb / spark_s:8.1f} MB/s  = {zcat_s / spark_s:.2f} x zcat")


if __name__ == "__main__":
    main()
