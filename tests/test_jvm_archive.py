"""The driver JVM's class-data-sharing archive of local runs (``jobs/jvm_archive.py``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs import jvm_archive
from jobs.jvm_archive import ClassArchive, archive_key, plan, publish, remove_stale_parts, resolve_directory
from tests.conftest import REPO_ROOT, SAMPLE_WET_FILES


@pytest.fixture
def java_and_jars(tmp_path: Path) -> tuple[str, Path]:
    java = tmp_path / "java"
    java.write_bytes(b"not really java")
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / "spark-core.jar").write_bytes(b"0" * 10)
    return str(java), jars


def test_first_plan_dumps_then_later_ones_map(tmp_path: Path, java_and_jars: tuple[str, Path]) -> None:
    java, jars = java_and_jars
    settings = {"spark.driver.extraJavaOptions": "-XX:+UseParallelGC"}
    first = plan(tmp_path / "cache", settings, java, jars)
    assert first.dump_to == first.path.with_name(f"{first.path.name}.{os.getpid()}.part")
    assert first.java_options.startswith(f"-XX:ArchiveClassesAtExit={first.dump_to} ")
    first.path.write_bytes(b"archive")  # what finish() publishes
    second = plan(tmp_path / "cache", settings, java, jars)
    assert second == ClassArchive(first.path, None)
    assert second.java_options == f"-XX:SharedArchiveFile={first.path} -Xlog:cds=off -Xlog:cds+dynamic=off"


def test_archive_name_follows_java_jars_and_jvm_settings(java_and_jars: tuple[str, Path]) -> None:
    java, jars = java_and_jars
    base = archive_key(java, jars, {"spark.driver.extraJavaOptions": "-Xss4m"})
    assert re.fullmatch(r"[0-9a-f]{16}", base)
    assert archive_key(java, jars, {"spark.driver.extraJavaOptions": "-Xss4m", "spark.sql.shuffle.partitions": "8"}) \
        == base  # a setting the JVM's classes do not depend on
    assert archive_key(java, jars, {"spark.driver.extraJavaOptions": "-Xss8m"}) != base
    assert archive_key(java, jars, {"spark.driver.extraJavaOptions": "-Xss4m", "spark.jars": "x.jar"}) != base
    (jars / "spark-core.jar").write_bytes(b"0" * 11)  # another Spark
    assert archive_key(java, jars, {"spark.driver.extraJavaOptions": "-Xss4m"}) != base


def test_stale_dumps_of_killed_runs_are_removed(tmp_path: Path) -> None:
    old, fresh = tmp_path / "spark-a.jsa.1.part", tmp_path / "spark-a.jsa.2.part"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    remove_stale_parts(tmp_path)
    assert not old.exists() and fresh.exists()


@pytest.mark.skipif(shutil.which("java") is None, reason="needs a JVM")
def test_a_dump_no_jvm_can_map_is_never_published(tmp_path: Path) -> None:
    dump, path = tmp_path / "spark-a.jsa.1.part", tmp_path / "spark-a.jsa"
    dump.write_bytes(b"\x00" * 4096)  # as a JVM killed while dumping might leave it: mapping it would crash a JVM
    assert publish(dump, path, ["java"]) is False
    assert not path.exists()
    assert publish(tmp_path / "missing.part", path, ["java"]) is False


def test_auto_folder_is_the_users_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert resolve_directory("auto") == tmp_path / "cc-refinery" / "jvm"
    monkeypatch.setenv("SOME_DIR", str(tmp_path / "x"))
    assert resolve_directory("$SOME_DIR/jvm") == tmp_path / "x" / "jvm"


def test_only_a_local_jvm_this_process_starts_gets_an_archive(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             java_and_jars: tuple[str, Path]) -> None:
    from pyspark import SparkContext

    from udfs.config import load_config

    java, jars = java_and_jars
    monkeypatch.setattr(jvm_archive, "_planned", None)
    monkeypatch.setattr(jvm_archive, "java_binary", lambda: java)
    monkeypatch.setattr(jvm_archive, "_spark_jars", lambda: jars)
    monkeypatch.setattr(SparkContext, "_gateway", None)
    monkeypatch.delenv("PYSPARK_GATEWAY_PORT", raising=False)
    local = load_config(str(REPO_ROOT / "conf" / "local.yaml"), [f"spark.class_archive_dir={tmp_path}"])
    options = "spark.driver.extraJavaOptions"
    for overrides in (["spark.master=yarn"], ["spark.class_archive_dir=null"]):
        conf = load_config(str(REPO_ROOT / "conf" / "local.yaml"), [f"spark.class_archive_dir={tmp_path}", *overrides])
        assert jvm_archive.driver_settings(conf)[options] == local.spark.settings()[options]
    monkeypatch.setattr(SparkContext, "_gateway", object())  # a JVM runs already (e.g. the tests' session)
    assert jvm_archive.driver_settings(local)[options] == local.spark.settings()[options]
    monkeypatch.setattr(SparkContext, "_gateway", None)
    settings = jvm_archive.driver_settings(local)
    assert settings[options].startswith(local.spark.settings()[options] + " -XX:ArchiveClassesAtExit=")
    assert jvm_archive.driver_settings(local) == settings  # one decision per process


def _run(output: Path, archive_dir: Path, log: Path) -> str:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    env.pop("PYSPARK_GATEWAY_PORT", None)
    result = subprocess.run(
        [sys.executable, "-m", "jobs.pipeline", "--conf", "local.yaml", "--input", SAMPLE_WET_FILES[0],
         "--output", str(output), "--stages", "ingest,normalize", "--set", "spark.master=local[1]",
         "--set", f"spark.class_archive_dir={archive_dir}"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    log.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, log.read_text()[-3000:]
    return result.stdout + result.stderr


def test_first_local_run_publishes_the_archive_and_the_next_maps_it(tmp_path: Path) -> None:
    archive_dir = tmp_path / "jvm"
    first = _run(tmp_path / "out1", archive_dir, tmp_path / "first.log")
    published = list(archive_dir.glob("spark-*.jsa"))
    assert len(published) == 1, first[-3000:]
    assert "class archive: dumping at exit to" in first
    assert "class archive for later local runs written" in first
    assert not list(archive_dir.glob("*.part"))
    second = _run(tmp_path / "out2", archive_dir, tmp_path / "second.log")
    assert f"class archive: mapping {published[0]}" in second
    assert list(archive_dir.iterdir()) == published
    import pyarrow.parquet as pq

    def ids(out: Path) -> list[str]:
        return sorted(pq.read_table(out / "documents", columns=["id"]).column("id").to_pylist())

    assert ids(tmp_path / "out1") == ids(tmp_path / "out2") != []
