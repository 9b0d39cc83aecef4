"""Hadoop filesystem inputs (one code path for gs://, hdfs://, abfs://, s3a://, …, tested with file://) and
WET-only directory/prefix listings (local folders, the real SeaweedFS S3 server, Hadoop)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jobs.stages.ingest import SparkHadoopFiles, ingest_frame, resolve_wet_inputs
from tests.conftest import REPO_ROOT, SAMPLE_WET_FILES, WET_FIXTURES
from tests.services import SeaweedFS
from udfs.config import load_config
from udfs.errors import InputError
from udfs.ingest import read_file_rows
from udfs.sources import S3Settings, SourceSettings, resolve_inputs
from udfs.warc import ReaderLimits

CONF = load_config(str(REPO_ROOT / "conf" / "local.yaml"))

# A crawl folder as CC lays it out, plus the clutter a real bucket or HDFS folder has.
WET_NAMES = ["seg1/wet/CC-1.warc.wet.gz", "seg1/wet/CC-2.warc.wet.gz", "seg2/plain.wet", "seg2/single.wet.gz",
             "ccnet.warc.txt"]  # fmt: skip
NOT_WET = ["seg1/warc/CC-1.warc.gz", "seg1/wat/CC-1.warc.wat.gz", "seg1/wat/CC-1.warc.wat", "README.md", "_SUCCESS",
           ".CC-1.warc.wet.gz.crc", "seg2/_temporary.wet.gz", "seg1/robotstxt/CC-1.warc.gz"]  # fmt: skip


@pytest.fixture()
def crawl_dir(tmp_path: Path) -> Path:
    root = tmp_path / "crawl"
    for name in WET_NAMES + NOT_WET:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    return root


def test_local_directory_keeps_only_wet_files(crawl_dir: Path) -> None:
    settings = SourceSettings()
    assert resolve_inputs([str(crawl_dir)], settings, "s3://commoncrawl/") == sorted(
        str(crawl_dir / name) for name in WET_NAMES
    )
    # A file named explicitly, or matched by a glob, is taken as given: the user chose it.
    warc = str(crawl_dir / "seg1/warc/CC-1.warc.gz")
    assert resolve_inputs([warc], settings, "") == [warc]
    assert resolve_inputs([str(crawl_dir / "seg1/*/CC-1.*")], settings, "") == sorted(
        str(crawl_dir / n) for n in ("seg1/robotstxt/CC-1.warc.gz", "seg1/warc/CC-1.warc.gz", "seg1/wat/CC-1.warc.wat",
                                      "seg1/wat/CC-1.warc.wat.gz", "seg1/wet/CC-1.warc.wet.gz")
    )  # fmt: skip


@pytest.mark.s3
def test_s3_prefix_keeps_only_wet_objects(s3_server: SeaweedFS, crawl_dir: Path) -> None:
    client = s3_server.client()
    for name in WET_NAMES + NOT_WET:
        client.upload_file(str(crawl_dir / name), "wet-samples", f"mixed/{name}")
    settings = S3Settings(endpoint_url=s3_server.endpoint, max_attempts=3, backoff_base_seconds=0.01)
    expected = [f"s3://wet-samples/mixed/{name}" for name in sorted(WET_NAMES)]
    assert resolve_inputs(["s3://wet-samples/mixed/"], settings, "") == expected
    assert resolve_inputs(["s3://wet-samples/mixed"], settings, "") == expected
    assert resolve_inputs(["s3://wet-samples/mixed/seg1/warc/CC-1.warc.gz"], settings, "") == [
        "s3://wet-samples/mixed/seg1/warc/CC-1.warc.gz"  # an exact key is taken as given
    ]
    with pytest.raises(InputError, match=r"input 's3://wet-samples/mixed/seg1/warc/' matched no files"):
        resolve_inputs(["s3://wet-samples/mixed/seg1/warc/"], settings, "")


@pytest.mark.spark
def test_hadoop_listing_keeps_only_wet_files(spark: Any, crawl_dir: Path) -> None:
    hadoop = SparkHadoopFiles(CONF)
    url = f"file://{crawl_dir}"
    assert hadoop.list_wet(url) == sorted(f"file:{crawl_dir}/{name}" for name in WET_NAMES)
    assert hadoop.list_wet(f"{url}/seg1/*/CC-1.warc.*.gz") == [
        f"file:{crawl_dir}/seg1/wat/CC-1.warc.wat.gz", f"file:{crawl_dir}/seg1/wet/CC-1.warc.wet.gz"
    ]  # fmt: skip
    assert hadoop.list_wet(f"{url}/seg*") == []  # a glob matching folders only: no files (as locally)
    assert hadoop.list_wet(f"{url}/README.md") == [f"file:{crawl_dir}/README.md"]
    with pytest.raises(InputError, match=r"input path does not exist: file://.*/crawl/nothing"):
        hadoop.list_wet(f"{url}/nothing")


@pytest.mark.spark
def test_hadoop_scheme_without_a_connector_names_the_input(spark: Any) -> None:
    # Hadoop 3.4 (Spark 4) knows the connector's class name but not the class; Hadoop 3.3 (Spark 3.5) not the scheme.
    no_connector = r"(GoogleHadoopFileSystem not found|No FileSystem for scheme \"gs\")"
    with pytest.raises(InputError, match=rf"input 'gs://some-bucket/crawl/'.*{no_connector}.*GCS connector"):
        resolve_wet_inputs(["gs://some-bucket/crawl/"], CONF)


@pytest.mark.spark
def test_hadoop_manifest_resolves_against_the_base(spark: Any, tmp_path: Path) -> None:
    manifest = tmp_path / "wet.paths.gz"
    manifest.write_bytes(gzip.compress(b"crawl-data/CC-MAIN-2024-22/segments/1/wet/CC-MAIN-1-00000.warc.wet.gz\n"))
    assert resolve_wet_inputs([f"file://{manifest}"], CONF) == [
        "s3://commoncrawl/crawl-data/CC-MAIN-2024-22/segments/1/wet/CC-MAIN-1-00000.warc.wet.gz"
    ]
    with pytest.raises(InputError, match=r"manifest does not exist: file://.*/other\.paths\.gz"):
        resolve_wet_inputs([f"file://{tmp_path}/other.paths.gz"], CONF)


DOC_FIELDS = ("name", "file_index", "id", "text", "record_offset", "length", "reason")
FILE_FIELDS = ("name", "file_index", "file_status", "file_documents", "file_warcinfo", "file_skipped", "file_bytes")


def _split(rows: list[dict[str, Any]]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(documents, file rows) keyed by file name, so where the files lived does not matter."""
    for row in rows:
        row["name"] = row["source_file"].rsplit("/", 1)[-1]
    docs = sorted(tuple(r[f] for f in DOC_FIELDS) for r in rows if r["_kind"] == "doc")
    files = sorted(tuple(r[f] for f in FILE_FIELDS) for r in rows if r["_kind"] == "file")
    return docs, files


@pytest.mark.spark
def test_hadoop_reads_equal_local_reads(spark: Any, tmp_path: Path) -> None:
    """Every sample file (corrupt and truncated ones included) read by Spark via file:// gives the rows the Python
    reader gives from the local path; local and Hadoop inputs mix in one list with their file_index kept."""
    folder = tmp_path / "hadoop [in]"  # a space and glob characters: Spark must read the files as named
    folder.mkdir()
    for path in SAMPLE_WET_FILES:
        shutil.copy(path, folder / Path(path).name)
    via_hadoop = resolve_wet_inputs([f"file://{folder}"], CONF)
    assert [Path(p).name for p in via_hadoop] == [Path(p).name for p in SAMPLE_WET_FILES]
    assert all(p.startswith("file:/") for p in via_hadoop)
    mixed = sorted([*via_hadoop[::2], *SAMPLE_WET_FILES[1::2]], key=lambda p: Path(p).name)  # half via Hadoop
    frame = ingest_frame(spark, list(enumerate(mixed)), CONF)
    assert "binaryFile" in frame._jdf.queryExecution().optimizedPlan().toString()  # really through Spark's reader
    through_spark = _split([row.asDict() for row in frame.collect()])
    limits = ReaderLimits(CONF.ingest.max_record_bytes, CONF.ingest.max_invalid_utf8_ratio)
    local = _split([row for index, path in enumerate(SAMPLE_WET_FILES)
                    for batch in read_file_rows(index, path, SourceSettings(), limits, 1000)
                    for row in batch.to_pylist()])  # fmt: skip
    assert through_spark == local
    assert len(local[0]) == 89 and len(local[1]) == 10  # tests/test_pipeline_e2e.py: RECORDS_READ


def _cli(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    return subprocess.run([sys.executable, "-m", "jobs.pipeline", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, env=env, timeout=timeout)  # fmt: skip


@pytest.mark.spark
def test_manifest_lines_on_hadoop_as_spelled_and_a_missing_one_failed(spark: Any, tmp_path: Path) -> None:
    """Manifest lines against a file:/// base are not in Spark's qualified form (file:/…): rows still find their
    file and keep the input list's spelling; a line naming no file is a failed input, not a failed Spark job."""
    mirror = tmp_path / "mirror"
    (mirror / "cc").mkdir(parents=True)
    for name in ("whirlwind.warc.wet.gz", "harwell_fragment3.wet.gz"):
        shutil.copy(WET_FIXTURES / name, mirror / "cc" / name)
    manifest = tmp_path / "wet.paths"
    manifest.write_text("cc/whirlwind.warc.wet.gz\ncc/gone.warc.wet.gz\ncc/harwell_fragment3.wet.gz\n")
    conf = load_config(str(REPO_ROOT / "conf" / "local.yaml"), [f"input.manifest_base=file://{mirror}/"])
    files = resolve_wet_inputs([str(manifest)], conf)
    assert files == [f"file://{mirror}/cc/whirlwind.warc.wet.gz", f"file://{mirror}/cc/gone.warc.wet.gz",
                     f"file://{mirror}/cc/harwell_fragment3.wet.gz"]  # fmt: skip
    rows = ingest_frame(spark, list(enumerate(files)), conf).filter("_kind = 'file'").collect()
    by_index = {r["file_index"]: (r["source_file"], r["file_status"], r["file_documents"]) for r in rows}
    assert by_index == {0: (files[0], "ok", 1), 1: (files[1], "failed", 0), 2: (files[2], "ok", 5)}
    error = next(r["file_error"] for r in rows if r["file_index"] == 1)
    assert error == f"FileNotFoundError: {files[1]}: no such file on its Hadoop filesystem"


def _input_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("whirlwind.warc.wet.gz", "harwell_fragment3.wet.gz"):
        shutil.copy(WET_FIXTURES / name, folder / name)
    shutil.copy(WET_FIXTURES / "ATTRIBUTION.md", folder / "README.md")
    return folder


@pytest.mark.spark
def test_cli_bad_hadoop_input_exits_2_naming_it(tmp_path: Path) -> None:
    """Before the SparkContext: the file:// folder is listed through Spark's JVM, then the gs:// input (no
    connector here) fails the run with exit 2, naming it, and nothing was written."""
    folder = _input_folder(tmp_path)
    output = tmp_path / "out"
    result = _cli(["--input", f"file://{folder}", "gs://no-connector-here/crawl/", "--output", str(output)])
    assert result.returncode == 2, result.stderr[-3000:]
    assert "input error: input 'gs://no-connector-here/crawl/'" in result.stderr
    assert "GCS connector for gs://" in result.stderr and not output.exists()


@pytest.mark.slow
@pytest.mark.spark
def test_cli_lists_hadoop_inputs_before_the_session_and_runs(tmp_path: Path) -> None:
    """The driver lists file:// through a JVM started before the SparkContext, which then reuses it (~75 s here)."""
    folder = _input_folder(tmp_path)
    output = tmp_path / "out"
    result = _cli(["--input", f"file://{folder}", "--output", str(output), "--stages", "ingest"])
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((output / "_manifest.json").read_text())
    assert manifest["totals"]["inputs"] == 2 and manifest["totals"]["records_read"] == 1 + 5
    assert sorted(e["path"] for e in manifest["inputs"]) == [
        f"file:{folder}/harwell_fragment3.wet.gz", f"file:{folder}/whirlwind.warc.wet.gz"
    ]  # fmt: skip


def test_read_tasks_one_per_file_small_local_files_share(tmp_path: Path) -> None:
    from jobs.stages.ingest import read_tasks

    big = [str(tmp_path / f"big-{i}.wet.gz") for i in range(20)]
    for path in big:
        Path(path).write_bytes(b"x" * 2000)
    # up to 4 tasks per core: one per file whatever the sizes
    assert read_tasks(big[:8], parallelism=2, min_task_bytes=10_000) == 8
    # past that, files of min_task_bytes or more keep a task each; small ones share up to that many bytes
    assert read_tasks(big, parallelism=2, min_task_bytes=2000) == 20
    assert read_tasks(big, parallelism=2, min_task_bytes=4000) == 10
    assert read_tasks(big, parallelism=2, min_task_bytes=1_000_000) == 8  # never fewer than 4 per core
    # remote objects (size unseen) and missing local files count as min_task_bytes each
    remote = [f"s3://bucket/crawl/{i}.wet.gz" for i in range(12)]
    assert read_tasks(remote, parallelism=2, min_task_bytes=1_000_000) == 12
    assert read_tasks([str(tmp_path / f"gone-{i}") for i in range(9)], parallelism=2, min_task_bytes=5) == 9
    assert read_tasks([], parallelism=2, min_task_bytes=5) == 1
