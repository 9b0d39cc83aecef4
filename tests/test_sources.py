"""Input resolution (local, globs, manifests, S3) and S3 streaming with retries, against a real SeaweedFS."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_WET_FILES, WET_FIXTURES
from tests.services import FaultyS3Proxy, SeaweedFS
from udfs.errors import InputError
from udfs.sources import RetryingS3Stream, S3Settings, read_manifest, resolve_inputs
from udfs.warc import read_wet

LOCAL = S3Settings()


def fast_retries(endpoint: str, attempts: int = 5) -> S3Settings:
    return S3Settings(
        endpoint_url=endpoint, max_attempts=attempts, backoff_base_seconds=0.01, backoff_max_seconds=0.05
    )


def test_local_glob_directory_and_file(tmp_path: Path) -> None:
    by_glob = resolve_inputs([str(WET_FIXTURES / "harwell_*.wet.gz")], LOCAL, "s3://commoncrawl/")
    assert [Path(p).name for p in by_glob] == [
        "harwell_corrupt_two_warcinfo.wet.gz",
        "harwell_corrupt_warcconversion_1.wet.gz",
        "harwell_fragment2_no_header.wet.gz",
        "harwell_fragment3.wet.gz",
    ]
    by_dir = resolve_inputs([str(WET_FIXTURES)], LOCAL, "s3://commoncrawl/")
    assert by_dir == SAMPLE_WET_FILES  # the ATTRIBUTION.md beside them is not a WET file
    one = str(WET_FIXTURES / "whirlwind.warc.wet.gz")
    assert resolve_inputs([one, one], LOCAL, "s3://commoncrawl/") == [one]


def test_missing_path_and_empty_glob_name_the_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"does not exist: /no/such/file\.wet\.gz"):
        resolve_inputs(["/no/such/file.wet.gz"], LOCAL, "s3://commoncrawl/")
    with pytest.raises(InputError, match="matched no files"):
        resolve_inputs([str(tmp_path / "*.wet.gz")], LOCAL, "s3://commoncrawl/")


def test_manifest_relative_lines_resolve_against_the_base(tmp_path: Path) -> None:
    manifest = tmp_path / "wet.paths.gz"
    manifest.write_bytes(
        gzip.compress(
            b"crawl-data/CC-MAIN-2024-22/segments/1/wet/CC-MAIN-1-00000.warc.wet.gz\n\ns3://other/abs.warc.wet.gz\n"
        )
    )
    assert read_manifest(str(manifest), LOCAL, "s3://commoncrawl") == [
        "s3://commoncrawl/crawl-data/CC-MAIN-2024-22/segments/1/wet/CC-MAIN-1-00000.warc.wet.gz",
        "s3://other/abs.warc.wet.gz",
    ]


@pytest.mark.s3
def test_s3_prefix_glob_object_and_manifest(s3_server: SeaweedFS) -> None:
    settings = fast_retries(s3_server.endpoint)
    names = [Path(p).name for p in SAMPLE_WET_FILES]
    assert resolve_inputs(["s3://wet-samples/cc/"], settings, "") == [f"s3://wet-samples/cc/{n}" for n in names]
    assert resolve_inputs(["s3://wet-samples/cc"], settings, "") == [f"s3://wet-samples/cc/{n}" for n in names]
    assert resolve_inputs(["s3://wet-samples/cc/derived_dolma_*"], settings, "") == [
        "s3://wet-samples/cc/derived_dolma_sample-0000.warc.wet.gz",
        "s3://wet-samples/cc/derived_dolma_sample-0001.warc.wet.gz",
    ]
    client = s3_server.client()
    client.put_object(
        Bucket="wet-samples",
        Key="manifests/wet.paths.gz",
        Body=gzip.compress(b"cc/whirlwind.warc.wet.gz\ncc/harwell_fragment3.wet.gz\n"),
    )
    assert resolve_inputs(["s3://wet-samples/manifests/wet.paths.gz"], settings, "s3://wet-samples/") == [
        "s3://wet-samples/cc/whirlwind.warc.wet.gz",
        "s3://wet-samples/cc/harwell_fragment3.wet.gz",
    ]
    with pytest.raises(InputError, match="matched no files"):
        resolve_inputs(["s3://wet-samples/nothing-here/"], settings, "")


def test_unreachable_endpoint_fails_fast_naming_it() -> None:
    started = time.time()
    with pytest.raises(InputError, match=r"S3 endpoint http://127\.0\.0\.1:9 "):
        resolve_inputs(["s3://bucket/prefix/"], fast_retries("http://127.0.0.1:9"), "")
    assert time.time() - started < 30


def _read_all(stream: RetryingS3Stream) -> bytes:
    chunks = []
    while True:
        chunk = stream.read(7000)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


@pytest.mark.s3
def test_throttling_and_resets_are_retried_and_resumed(s3_server: SeaweedFS) -> None:
    key = "cc/derived_dolma_sample-0000.warc.wet.gz"
    expected = (WET_FIXTURES / Path(key).name).read_bytes()
    proxy = FaultyS3Proxy(s3_server.endpoint, plan=["slowdown", "reset:20000", "slowdown", "reset:50000"])
    try:
        stream = RetryingS3Stream(f"s3://wet-samples/{key}", fast_retries(proxy.endpoint, attempts=8), seed=1)
        assert _read_all(stream) == expected
        assert proxy.faults_injected == 4
        assert stream.retries == 4 and stream.attempts == 5
    finally:
        proxy.stop()


@pytest.mark.s3
def test_persistent_failure_raises_after_max_attempts(s3_server: SeaweedFS) -> None:
    proxy = FaultyS3Proxy(s3_server.endpoint, plan=[], default="slowdown")
    try:
        url = "s3://wet-samples/cc/whirlwind.warc.wet.gz"
        stream = RetryingS3Stream(url, fast_retries(proxy.endpoint, attempts=3))
        with pytest.raises(Exception, match="SlowDown"):
            stream.read(100)
        assert proxy.faults_injected == 3 and stream.attempts == 3
    finally:
        proxy.stop()


@pytest.mark.s3
def test_missing_object_is_not_retried(s3_server: SeaweedFS) -> None:
    stream_settings = fast_retries(s3_server.endpoint, attempts=5)
    stream = RetryingS3Stream("s3://wet-samples/cc/no-such.warc.wet.gz", stream_settings)
    with pytest.raises(Exception, match="NoSuchKey"):
        stream.read(100)
    assert stream.attempts == 1


@pytest.mark.s3
def test_wet_reader_over_s3_equals_local(s3_server: SeaweedFS) -> None:
    name = "harwell_fragment2_no_header.wet.gz"
    stream = RetryingS3Stream(f"s3://wet-samples/cc/{name}", fast_retries(s3_server.endpoint))
    remote = [(d.id, d.text, d.reason) for d in read_wet(stream, name)]  # type: ignore[arg-type]
    with open(WET_FIXTURES / name, "rb") as handle:
        local = [(d.id, d.text, d.reason) for d in read_wet(handle, name)]
    assert remote == local and len(local) == 3
