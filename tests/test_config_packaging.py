"""A conf shipped alone (``spark-submit --files emr.yaml``) loads its parents from the code zip (``--py-files``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.base import code_archive
from tests.conftest import REPO_ROOT

PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
import udfs.config
from jobs.base import find_conf
from udfs.config import load_config
assert udfs.config.__file__.startswith(sys.argv[1]), udfs.config.__file__  # imported from the zip, not the repo
conf = load_config(find_conf(sys.argv[2]))
print(conf.s3.max_attempts, conf.s3.backoff_base_seconds, conf.http.max_attempts, conf.http.backoff_base_seconds,
      conf.quality.enabled, conf.dedup.near.threshold)
from udfs.quality.lists import bigscience_stopwords, ldnoobw
assert len(ldnoobw("en")) > 300 and len(bigscience_stopwords("zh")) > 1000  # data files read from the zip too
"""


def probe(tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    archive = code_archive()
    return subprocess.run(
        [sys.executable, "-c", PROBE, archive, name], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def test_conf_shipped_with_files_extends_the_zipped_defaults(tmp_path: Path) -> None:
    # What the driver sees in cluster mode: emr.yaml in its working directory, everything else in the code zip.
    shutil.copy(REPO_ROOT / "conf" / "emr.yaml", tmp_path / "emr.yaml")
    result = probe(tmp_path, "emr.yaml")
    assert result.returncode == 0, result.stderr
    # emr.yaml's own S3 values over the zipped defaults (it reads Common Crawl from S3)
    assert result.stdout.split() == ["10", "1.0", "8", "0.5", "True", "0.75"]


def test_conf_named_only_is_found_in_the_zip(tmp_path: Path) -> None:
    result = probe(tmp_path, "dataproc.yaml")
    assert result.returncode == 0, result.stderr
    # dataproc.yaml's own HTTP values (Common Crawl over HTTPS outside AWS) over the zipped defaults
    assert result.stdout.split() == ["8", "0.5", "10", "1.0", "True", "0.75"]


def test_missing_conf_names_the_file(tmp_path: Path) -> None:
    result = probe(tmp_path, "nonexistent.yaml")
    assert result.returncode != 0 and "conf file not found: nonexistent.yaml" in result.stderr


SUBMITTED_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
from jobs.base import Job
from udfs.config import load_config
spark = Job().session(load_config(sys.argv[2]))  # local.yaml: master local[*], session time zone UTC
print("RESULT", spark.sparkContext.master, spark.conf.get("spark.sql.session.timeZone"))
spark.stop()
"""


@pytest.mark.spark
def test_spark_submit_settings_win_over_the_yaml(tmp_path: Path) -> None:
    # The job under spark-submit: --master and --conf given there must beat conf/local.yaml's, which the job
    # applies only where spark-submit said nothing.
    from tests.services import SparkCluster

    probe_file = tmp_path / "probe.py"
    probe_file.write_text(SUBMITTED_PROBE)
    home = SparkCluster.spark_home()
    env = dict(os.environ, SPARK_HOME=home, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYSPARK_DRIVER_PYTHON=sys.executable)
    result = subprocess.run(
        [os.path.join(home, "bin", "spark-submit"), "--master", "local[1]",
         "--conf", "spark.sql.session.timeZone=America/New_York", str(probe_file), str(REPO_ROOT),
         str(REPO_ROOT / "conf" / "local.yaml")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "RESULT local[1] America/New_York" in result.stdout
