"""http(s):// inputs against a real HTTP server on 127.0.0.1 that injects 503, 429 (Retry-After) and connections
dropped mid-body: records equal the local files', retries are counted, resumes are ranged, failures are reported."""

from __future__ import annotations

import gzip
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLE_WET_FILES, WET_FIXTURES
from tests.http_server import FaultyHttpServer, Request, self_signed_certificate
from udfs.errors import InputError
from udfs.ingest import read_file_rows
from udfs.sources import HttpSettings, RetryingHttpStream, SourceSettings, resolve_inputs, retry_after_seconds
from udfs.warc import ReaderLimits, read_wet

DOLMA = "derived_dolma_sample-0000.warc.wet.gz"  # 22 records, 88,391 bytes gzip


def fast(attempts: int = 6, backoff_max: float = 2.0) -> HttpSettings:
    return HttpSettings(max_attempts=attempts, backoff_base_seconds=0.01, backoff_max_seconds=backoff_max)


@pytest.fixture()
def server_root(tmp_path: Path) -> Path:
    """The sample WET files under cc/, as a server would lay out a crawl."""
    root = tmp_path / "www"
    (root / "cc").mkdir(parents=True)
    for path in SAMPLE_WET_FILES:
        shutil.copy(path, root / "cc" / Path(path).name)
    return root


@pytest.fixture()
def serve(server_root: Path) -> Iterator[Any]:
    servers: list[FaultyHttpServer] = []

    def start(plans: dict[str, list[str]] | None = None, defaults: dict[str, str] | None = None) -> FaultyHttpServer:
        servers.append(FaultyHttpServer(server_root, plans, defaults))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def read_in_chunks(stream: RetryingHttpStream, size: int = 7000) -> bytes:
    chunks = []
    while chunk := stream.read(size):
        chunks.append(chunk)
    return b"".join(chunks)


def records(stream: Any, name: str) -> list[tuple[str | None, str, str | None]]:
    return [(d.id, d.text, d.reason) for d in read_wet(stream, name)]


def test_faults_are_retried_and_a_dropped_body_resumes_where_it_broke(serve: Any) -> None:
    path = f"/cc/{DOLMA}"
    server = serve({path: ["503", "429:1", "drop:20000"]})
    stream = RetryingHttpStream(server.url(path), fast(), seed=7)
    assert read_in_chunks(stream) == (WET_FIXTURES / DOLMA).read_bytes()
    # The connection closed after 20,000 bytes: the client asked again from byte 20,000, not from the start.
    assert server.requests_for(path) == [
        Request(path, None, "503"),
        Request(path, None, "429:1"),
        Request(path, None, "drop:20000"),
        Request(path, "bytes=20000-", "ok"),
    ]
    assert stream.attempts == 4 and stream.retries == 3
    # The 429's Retry-After (1 s, below the 2 s cap) was the wait; jittered waits are at most base * 2**n.
    waits = stream.retry_state.waits
    assert waits[1] == 1.0 and waits[0] <= 0.01 and waits[2] <= 0.04


def test_a_second_drop_resumes_again_and_resets_are_survived(serve: Any) -> None:
    path = f"/cc/{DOLMA}"
    server = serve({path: ["drop:10000", "drop:10000"]})
    stream = RetryingHttpStream(server.url(path), fast(), seed=7)
    assert read_in_chunks(stream) == (WET_FIXTURES / DOLMA).read_bytes()
    assert [r.range for r in server.requests_for(path)] == [None, "bytes=10000-", "bytes=20000-"]
    assert stream.attempts == 3 and stream.retries == 2
    # A TCP reset discards what the client had not read yet, so where it resumes depends on timing; it must resume
    # somewhere at or before the 30,000 bytes sent, and end with the same bytes.
    server = serve({path: ["reset:30000"]})
    stream = RetryingHttpStream(server.url(path), fast(), seed=7)
    assert read_in_chunks(stream) == (WET_FIXTURES / DOLMA).read_bytes()
    first, resumed = server.requests_for(path)
    assert first.range is None and resumed.action == "ok" and stream.retries == 1
    assert resumed.range is None or int(resumed.range[len("bytes=") : -1]) <= 30000


def test_records_over_http_equal_the_local_files_under_faults(serve: Any) -> None:
    names = [Path(p).name for p in SAMPLE_WET_FILES]
    plans = {
        f"/cc/{DOLMA}": ["503", "drop:70000", "429:0"],
        "/cc/harwell_fragment3.wet.gz": ["drop:700"],
        "/cc/derived_dolma_sample-0001.warc.wet.gz": ["reset:5000"],
    }
    server = serve(plans)
    retries = {}
    for name in names:
        stream = RetryingHttpStream(server.url(f"cc/{name}"), fast(), seed=1)
        remote = records(stream, name)
        with open(WET_FIXTURES / name, "rb") as handle:
            assert remote == records(handle, name), name
        retries[name] = stream.retries
    faulty = {DOLMA: 3, "harwell_fragment3.wet.gz": 1, "derived_dolma_sample-0001.warc.wet.gz": 1}
    assert retries == {name: faulty.get(name, 0) for name in names}
    assert server.faults() == 5
    # Every GET, ranged or not, names the client and asks for the bytes as stored (no gzip Content-Encoding).
    assert server.client_headers == {("cc-refinery", "identity")}
    # Through the WET reader too, a broken body resumed where it broke (again after the 429 on that ranged GET).
    assert [r.range for r in server.requests_for(f"/cc/{DOLMA}")] == [None, None, "bytes=70000-", "bytes=70000-"]
    assert [r.range for r in server.requests_for("/cc/harwell_fragment3.wet.gz")] == [None, "bytes=700-"]


def test_a_url_failing_for_good_is_reported_failed_not_corrupt(serve: Any) -> None:
    server = serve(
        {f"/cc/{DOLMA}": ["drop:5000"] * 3},
        defaults={"/cc/always-503.warc.wet.gz": "503"},
    )
    settings = SourceSettings(http=fast(attempts=3, backoff_max=0.05))
    limits = ReaderLimits()

    def file_row(url: str) -> dict[str, Any]:
        batches = list(read_file_rows(0, url, settings, limits, 1000))
        return batches[-1].to_pylist()[0]

    throttled = file_row(server.url("cc/always-503.warc.wet.gz"))
    assert throttled["file_status"] == "failed" and "HTTP 503" in throttled["file_error"]
    assert throttled["file_attempts"] == 3 and throttled["file_retries"] == 2
    assert len(server.requests_for("/cc/always-503.warc.wet.gz")) == 3
    # Three drops in a row mid-body: the network lost the file; the reader must not call the gzip stream corrupt.
    dropped = file_row(server.url(f"cc/{DOLMA}"))
    assert dropped["file_status"] == "failed" and "SourceReadError" in dropped["file_error"]
    assert dropped["file_attempts"] == 3
    missing = file_row(server.url("cc/no-such.warc.wet.gz"))
    assert missing["file_status"] == "failed" and "HTTP 404" in missing["file_error"]
    assert missing["file_attempts"] == 1  # a 404 is not retried


def test_https_with_faults(server_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same retries and ranged resume over TLS, with a certificate the client trusts through SSL_CERT_FILE."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # read when the client's TLS context is made
    path = f"/cc/{DOLMA}"
    server = FaultyHttpServer(server_root, {path: ["503", "drop:40000"]}, tls=(cert, key))
    try:
        assert server.base_url.startswith("https://127.0.0.1:")
        settings = HttpSettings(max_attempts=4, backoff_base_seconds=0.01, user_agent="cc-refinery-tls-test")
        stream = RetryingHttpStream(server.url(path), settings, seed=3)  # its own pool: made after SSL_CERT_FILE
        with open(WET_FIXTURES / DOLMA, "rb") as handle:
            assert records(stream, DOLMA) == records(handle, DOLMA)
        assert [r.range for r in server.requests_for(path)] == [None, None, "bytes=40000-"]
        assert stream.retries == 2
    finally:
        server.stop()


def test_retry_after_as_seconds_or_http_date() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == 30.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412510.0) == 0.0  # in the past: no wait
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_manifest_over_http_resolves_against_the_base_with_retries(serve: Any, server_root: Path) -> None:
    (server_root / "crawl").mkdir()
    (server_root / "crawl" / "wet.paths.gz").write_bytes(
        gzip.compress(b"cc/whirlwind.warc.wet.gz\ncc/harwell_fragment3.wet.gz\n")
    )
    server = serve({"/crawl/wet.paths.gz": ["503", "429:0"]})
    settings = SourceSettings(http=fast())
    files = resolve_inputs([server.url("crawl/wet.paths.gz")], settings, server.base_url)
    assert files == [server.url("cc/whirlwind.warc.wet.gz"), server.url("cc/harwell_fragment3.wet.gz")]
    assert [r.action for r in server.requests_for("/crawl/wet.paths.gz")] == ["503", "429:0", "ok"]
    # Common Crawl's layout: the same relative lines against its HTTPS endpoint (nothing is fetched for them).
    files = resolve_inputs([server.url("crawl/wet.paths.gz")], settings, "https://data.commoncrawl.org/")
    assert files[0] == "https://data.commoncrawl.org/cc/whirlwind.warc.wet.gz"


def test_bad_http_inputs_fail_before_spark_naming_the_url(serve: Any) -> None:
    server = serve(defaults={"/crawl/down.paths.gz": "503"})
    settings = SourceSettings(http=fast(attempts=2, backoff_max=0.05))
    with pytest.raises(InputError, match=r"input '.*/cc/no-such\.warc\.wet\.gz'.*HTTP 404"):
        resolve_inputs([server.url("cc/no-such.warc.wet.gz")], settings, "")
    with pytest.raises(InputError, match=r"manifest '.*/crawl/down\.paths\.gz'.*HTTP 503.*after 2 attempt"):
        resolve_inputs([server.url("crawl/down.paths.gz")], settings, "")
    with pytest.raises(InputError, match="HTTP has no directory listing"):
        resolve_inputs([server.url("cc/")], settings, "")
    server.plans[f"/cc/{DOLMA}"] = ["429:0"]
    assert resolve_inputs([server.url(f"cc/{DOLMA}")], settings, "") == [server.url(f"cc/{DOLMA}")]
    # A WET URL is probed with its first byte only, retried like any read.
    assert [(r.range, r.action) for r in server.requests_for(f"/cc/{DOLMA}")] == [("bytes=0-0", "429:0"),
                                                                                  ("bytes=0-0", "ok")]  # fmt: skip
    started = time.time()
    refused = r"input 'http://127\.0\.0\.1:9/x\.wet\.gz'.*Connection refused.*after 1 attempt\(s\)"
    with pytest.raises(InputError, match=refused):
        resolve_inputs(["http://127.0.0.1:9/x.wet.gz"], SourceSettings(http=fast(attempts=8)), "")
    assert time.time() - started < 5  # an unreachable host is not retried on the driver


@pytest.mark.spark
def test_pipeline_on_an_http_manifest(spark: Any, serve: Any, server_root: Path, tmp_path: Path) -> None:
    """The real jobs.pipeline (ingest only, kept small) on an http:// manifest with faults and one dead URL."""
    from pyspark.sql import functions as F

    from tests.test_pipeline_e2e import run_pipeline

    names = ["whirlwind.warc.wet.gz", "harwell_fragment3.wet.gz", DOLMA]
    (server_root / "crawl").mkdir()
    lines = [f"cc/{n}" for n in names] + ["cc/gone.warc.wet.gz"]
    (server_root / "crawl" / "wet.paths.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    server = serve(
        {f"/cc/{DOLMA}": ["503", "drop:12000"], "/cc/harwell_fragment3.wet.gz": ["429:0"]},
        defaults={"/cc/gone.warc.wet.gz": "503"},
    )
    output = str(tmp_path / "out")
    code, manifest = run_pipeline(spark, [
        "--input", server.url("crawl/wet.paths.gz"), "--output", output, "--stages", "ingest",
        "--set", f"input.manifest_base={server.base_url}", "--set", "http.max_attempts=3",
        "--set", "http.backoff_base_seconds=0.01", "--set", "http.backoff_max_seconds=0.05",
    ])  # fmt: skip
    assert code == 1  # a failed input fails the run (run.fail_on_failed_inputs), as with S3
    totals = manifest["totals"]
    assert totals["inputs"] == 4 and totals["failed_inputs"] == 1
    assert totals["records_read"] == 1 + 5 + 22 and totals["invariant_ok"] is True
    stats = {Path(r["path"]).name: r for r in json.loads(
        spark.read.parquet(f"{output}/stats/files.parquet").toPandas().to_json(orient="records"))}  # fmt: skip
    assert stats["gone.warc.wet.gz"]["status"] == "failed" and stats["gone.warc.wet.gz"]["s3_attempts"] == 3
    assert stats[DOLMA]["s3_retries"] == 2 and stats["harwell_fragment3.wet.gz"]["s3_retries"] == 1
    assert stats["whirlwind.warc.wet.gz"]["s3_retries"] == 0
    assert len(server.requests_for("/cc/gone.warc.wet.gz")) == 3
    # Every record read over HTTP is in documents/ or rejected/, with the ids and texts the local files hold.
    written = (
        spark.read.parquet(f"{output}/documents").select("source_file", "id", "text")
        .unionByName(spark.read.parquet(f"{output}/rejected").select("source_file", "id", "text"))
        .withColumn("name", F.element_at(F.split("source_file", "/"), -1))
        .select("name", "id", "text").collect()
    )  # fmt: skip
    local = set()
    for name in names:
        with open(WET_FIXTURES / name, "rb") as handle:
            local |= {(name, doc_id, text) for doc_id, text, _ in records(handle, name)}
    assert {tuple(row) for row in written} == local and len(written) == 28
