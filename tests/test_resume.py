"""The sharded pipeline as a crawl run meets it: killed at any moment and resumed, two runs on one output, a changed
conf on resume, thousands of tiny input files."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jobs.pipeline import PipelineJob
from jobs.runstate import OutputBusy
from tests.conftest import FIXTURES, REPO_ROOT, SAMPLE_WET_FILES
from tests.test_pipeline_e2e import run_pipeline
from udfs.errors import ConfigError

pytestmark = pytest.mark.spark

ZH_SAMPLE = str(FIXTURES / "wet_zh" / "cc_refinery_zh_pages.warc.wet.gz")
# Eleven files in shards of four: three shards, committed one at a time, so there are moments to kill the run in.
SHARDED = ["--input", *SAMPLE_WET_FILES, ZH_SAMPLE, "--set", "run.files_per_shard=4", "--set",
           "run.concurrent_shards=1", "--set", "output.mode=resume"]  # fmt: skip


def start_cli(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """The pipeline as a user starts it, in its own process group so driver and JVM can be killed together."""
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "jobs.pipeline", "--conf", "local.yaml", "--set", "spark.master=local[2]", *args],
        cwd=REPO_ROOT, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True,
    )  # fmt: skip


def kill_when(process: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float = 300) -> None:
    """SIGKILL the whole process group (driver and JVM) as soon as ``ready()``; fail if it ended first."""
    deadline = time.time() + timeout
    while not ready():
        assert process.poll() is None, f"the run ended (exit {process.returncode}) before the kill point"
        assert time.time() < deadline, "kill point not reached in time"
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def markers(output: Path) -> set[str]:
    folder = output / "_stage" / "markers"
    return {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()


def outcome(spark: Any, output: Path) -> tuple[set[Any], set[Any]]:
    kept = spark.read.parquet(str(output / "documents")).select("id", "text", "n_tokens", "category").collect()
    rejected = spark.read.parquet(str(output / "rejected")).select("id", "record_offset", "stage", "reason",
                                                                   "duplicate_of").collect()  # fmt: skip
    return {tuple(r) for r in kept}, {tuple(r) for r in rejected}


@pytest.fixture(scope="module")
def uninterrupted(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    output = tmp_path_factory.mktemp("uninterrupted") / "out"
    code, manifest = run_pipeline(spark, [*SHARDED, "--output", str(output)])
    assert code == 0 and manifest["shards"]["count"] == 3 and manifest["resumed"] is False
    return output, manifest


def test_killed_three_times_then_resumed_equals_an_uninterrupted_run(
    spark: Any, uninterrupted: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    output = tmp_path / "out"
    log = tmp_path / "runs.log"
    args = [*SHARDED, "--output", str(output)]
    # 1. during the shard phase, one of three shards committed
    kill_when(start_cli(args, log), lambda: "shard-00000" in markers(output))
    assert "global" not in markers(output) and (output / "_lock").exists()  # a dead run's lock stays behind
    # 2. the rerun skips those, and is killed right after the global phase committed
    kill_when(start_cli(args, log), lambda: "global" in markers(output))
    assert not any(m.startswith("final-") for m in markers(output))
    # 3. killed again once a first shard is finalized
    kill_when(start_cli(args, log), lambda: "final-00000" in markers(output))
    assert len([m for m in markers(output) if m.startswith("final-")]) < 3
    # A resumed run with a changed conf is refused before Spark starts, naming the key; nothing is deleted.
    before = sorted(p.name for p in output.iterdir() if p.name != "_lock")  # the refused run may clear a dead lock
    with pytest.raises(ConfigError, match=r"changed: dedup\.near\.threshold \(0\.75 → 0\.8\)"):
        PipelineJob().load([*args, "--set", "dedup.near.threshold=0.8"])
    assert sorted(p.name for p in output.iterdir() if p.name != "_lock") == before
    # 4. the last rerun completes
    code, manifest = run_pipeline(spark, args)
    assert code == 0 and manifest["resumed"] is True
    reference_output, reference = uninterrupted
    assert manifest["totals"] == reference["totals"] and manifest["funnel"] == reference["funnel"]
    assert outcome(spark, output) == outcome(spark, reference_output)
    assert not (output / "_lock").exists()
    assert not list((output / "_stage" / "shards").glob("shard=*"))  # staged text is dropped once finalized


def test_a_second_run_on_the_same_output_is_refused(tmp_path: Path) -> None:
    output = tmp_path / "out"
    first = start_cli(["--input", *SAMPLE_WET_FILES, "--output", str(output)], tmp_path / "first.log")
    try:
        deadline = time.time() + 120
        while not (output / "_run.json").exists():
            assert first.poll() is None and time.time() < deadline
            time.sleep(0.2)
        before = sorted(p.name for p in output.iterdir())
        for mode in ("resume", "overwrite"):
            with pytest.raises(OutputBusy, match="is being written by another run"):
                PipelineJob().load(["--input", *SAMPLE_WET_FILES, "--output", str(output), "--set",
                                    f"output.mode={mode}"])  # fmt: skip
        assert sorted(p.name for p in output.iterdir()) == before  # the refused run deleted nothing
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=60)


def _tiny_wet(path: Path, number: int) -> None:
    body = f"Tiny page number {number} of the many-files test. It has one sentence.".encode()
    record_id = uuid.uuid5(uuid.NAMESPACE_URL, f"tiny-{number}")
    head = (
        "WARC/1.0\r\nWARC-Type: conversion\r\n"
        f"WARC-Target-URI: https://tiny{number % 97}.example.org/page/{number}\r\n"
        "WARC-Date: 2024-05-20T00:00:00Z\r\n"
        f"WARC-Record-ID: <urn:uuid:{record_id}>\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    path.write_bytes(gzip.compress(head.encode() + body + b"\r\n\r\n", mtime=0))


def test_two_thousand_tiny_files(spark: Any, tmp_path: Path) -> None:
    """Per-file stats go to Parquet, not the driver: the manifest keeps totals and lists no more than its cap."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for number in range(2000):
        _tiny_wet(inputs / f"tiny-{number:04d}.warc.wet.gz", number)
    output = tmp_path / "out"
    code, manifest = run_pipeline(
        spark,
        ["--input", str(inputs), "--output", str(output), "--stages", "ingest,dedup",
         "--set", "run.files_per_shard=500", "--set", "output.manifest_max_inputs=100"],
    )  # fmt: skip
    assert code == 0
    assert manifest["totals"] == {"inputs": 2000, "failed_inputs": 0, "records_read": 2000, "kept": 2000,
                                  "rejected": 0, "invariant_ok": True, "inputs_without_wet_records": 0}
    assert manifest["shards"] == {"count": 4, "files_per_shard": 500}
    assert manifest["inputs"] == []  # more than 100 inputs, none failed: the per-file table is Parquet only
    stats = spark.read.parquet(manifest["stats"])
    assert stats.count() == 2000 and stats.filter("accounted and kept = 1 and records_read = 1").count() == 2000
    # Totals and funnel: apart from the conf used (its size is the conf's), the size does not grow with the inputs.
    assert len(json.dumps({key: value for key, value in manifest.items() if key != "conf"})) < 20_000


def test_dry_run_prints_the_plan_without_starting_spark(tmp_path: Path) -> None:
    started = time.time()
    result = subprocess.run(
        [sys.executable, "-m", "jobs.pipeline", "--input", *SAMPLE_WET_FILES, "--output", str(tmp_path / "out"),
         "--set", "run.files_per_shard=4", "--dry-run"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "inputs: 10 file(s)" in result.stdout and "shards: 3 of up to 4 file(s), 2 at once" in result.stdout
    assert "shard 00002: files 8-9" in result.stdout and "files_per_shard: 4" in result.stdout
    assert not (tmp_path / "out").exists() and "SparkContext" not in result.stderr and time.time() - started < 30
