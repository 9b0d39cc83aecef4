"""Shared pytest fixtures: one Spark session for the whole test run (chispa-style)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """A local[2] Spark session shared by every Spark test in the run."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("cc-refinery-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# Test-only credentials for the throw-away SeaweedFS server. Set before any Spark session starts so the Python
# workers (forked from the JVM, which inherits this environment) see them through the standard AWS chain.
from tests.services import S3_KEY, S3_SECRET, SeaweedFS, SparkCluster  # noqa: E402

os.environ.setdefault("AWS_ACCESS_KEY_ID", S3_KEY)
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", S3_SECRET)
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

WET_FIXTURES = FIXTURES / "wet"
SAMPLE_WET_FILES = sorted(str(p) for p in WET_FIXTURES.iterdir() if ".warc" in p.name or ".wet" in p.name)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """A real SeaweedFS S3 server on loopback, with the sample WET files uploaded to s3://wet-samples/cc/."""
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    client = server.client()
    client.create_bucket(Bucket="wet-samples")
    for path in SAMPLE_WET_FILES:
        client.upload_file(path, "wet-samples", f"cc/{Path(path).name}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """A standalone Spark cluster: 1 master + 2 one-core workers on 127.0.0.1."""
    cluster = SparkCluster(tmp_path_factory.mktemp("spark-cluster"), workers=2)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
