"""A conf shipped alone (``spark-submit --files emr.yaml``) loads its parents from the code zip (``--py-files``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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
print(conf.s3.max_attempts, conf.s3.backoff_base_seconds, conf.quality.enabled, conf.dedup.near.threshold)
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
    assert result.stdout.split() == ["10", "1.0", "True", "0.75"]  # emr.yaml's own values over the zipped defaults


def test_conf_named_only_is_found_in_the_zip(tmp_path: Path) -> None:
    result = probe(tmp_path, "dataproc.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["10", "1.0", "True", "0.75"]


def test_missing_conf_names_the_file(tmp_path: Path) -> None:
    result = probe(tmp_path, "nonexistent.yaml")
    assert result.returncode != 0 and "conf file not found: nonexistent.yaml" in result.stderr
