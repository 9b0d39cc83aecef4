"""Packaging: the bundled LID model from the code zip, ``make dist``'s models archive, local mode's Python workers,
and the pipeline submitted to a standalone cluster whose executors run the packed environment (``env.tar.gz``)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from jobs.base import code_archive
from tests.conftest import FIXTURES, REPO_ROOT
from tests.services import SparkCluster
from udfs.errors import ConfigError

LID_MODEL = REPO_ROOT / "udfs" / "resources" / "lid.176.ftz"
ZH_SAMPLE = FIXTURES / "wet_zh" / "cc_refinery_zh_pages.warc.wet.gz"


def load_dist_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cc_refinery_dist", REPO_ROOT / "scripts" / "dist.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dist = load_dist_script()


# -- the LID model travels inside the package --------------------------------------------------------------------
ZIP_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
import pandas as pd
import udfs.models
from udfs.langid import LangIdConfig, detect_languages
assert udfs.models.__file__.startswith(sys.argv[1]), udfs.models.__file__  # imported from the zip, not the repo
print(udfs.models.bundled_lid_model_path())
print(detect_languages(pd.Series(["Das ist ein ganz gewöhnlicher deutscher Satz."]), LangIdConfig())["lang"][0])
"""


def test_lid_model_is_extracted_from_the_code_zip_once(tmp_path: Path) -> None:
    env = dict(os.environ, TMPDIR=str(tmp_path))  # where the copy goes (tempfile.gettempdir)
    digest = hashlib.sha256(LID_MODEL.read_bytes()).hexdigest()
    expected = tmp_path / "cc-refinery-models" / digest / "lid.176.ftz"
    archive = code_archive()
    written = []
    for _ in range(2):  # the second process finds the first one's copy and does not write it again
        result = subprocess.run([sys.executable, "-c", ZIP_PROBE, archive], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == [str(expected), "de"]
        written.append(expected.stat().st_mtime_ns)
    assert written[0] == written[1]
    assert expected.read_bytes() == LID_MODEL.read_bytes()
    assert sorted(p.name for p in expected.parent.iterdir()) == ["lid.176.ftz"]  # no partial copies left behind


def test_wheel_ships_the_lid_model_its_licence_and_the_conf(tmp_path: Path) -> None:
    import zipfile

    wheel = dist.build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert archive.read("udfs/resources/lid.176.ftz") == LID_MODEL.read_bytes()
    assert "udfs/resources/ATTRIBUTION.md" in names
    shipped_conf = {name for name in names if name.startswith("conf/")}
    assert shipped_conf == {f"conf/{p.name}" for p in (REPO_ROOT / "conf").glob("*.yaml")}  # find_conf's defaults


def test_needed_glibc_is_the_newest_of_each_wheels_oldest_tag(tmp_path: Path) -> None:
    def wheel(name: str, *tags: str) -> None:
        info = tmp_path / f"{name}.dist-info"
        info.mkdir()
        (info / "WHEEL").write_text("Wheel-Version: 1.0\n" + "".join(f"Tag: {tag}\n" for tag in tags))

    wheel("pure-1.0", "py3-none-any")
    assert dist.needed_glibc(tmp_path) is None
    wheel("numpy-1.26.4", "cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64")
    wheel("pyarrow-25.0.1", "cp311-cp311-manylinux_2_28_x86_64")
    wheel("old-1.0", "cp311-cp311-manylinux1_x86_64")
    # a wheel tagged for both 2.34 and 2010 runs on 2.12: it does not raise the requirement above pyarrow's 2.28
    wheel("dual-1.0", "cp311-cp311-manylinux_2_34_x86_64", "cp311-cp311-manylinux2010_x86_64")
    assert dist.needed_glibc(tmp_path) == (2, 28)
    wheel("new-1.0", "cp311-cp311-manylinux_2_34_x86_64")
    assert dist.needed_glibc(tmp_path) == (2, 34)


# -- dist/models.tar.gz ---------------------------------------------------------------------------------------------
def fake_model(path: Path, content: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return str(path)


def test_models_archive_holds_every_configured_model_at_its_root(tmp_path: Path) -> None:
    # The archive only copies files: any bytes stand in for a KenLM or fastText model here.
    overrides = [
        f"perplexity.models.en={fake_model(tmp_path / 'kenlm' / 'en.binary', b'kenlm en')}",
        f"perplexity.models.zh={fake_model(tmp_path / 'kenlm' / 'zh.binary', b'kenlm zh')}",
        f"quality_classifier.models.en={fake_model(tmp_path / 'clf' / 'quality_en.bin', b'fasttext en')}",
        f"categories.classifier_model={fake_model(tmp_path / 'clf' / 'category.bin', b'fasttext categories')}",
    ]
    fake_model(tmp_path / "kenlm" / "en.json", b'{"lower_case": true}')  # en's sidecar; zh has none
    out = tmp_path / "dist"
    out.mkdir()
    archive, settings = dist.build_models_archive(str(REPO_ROOT / "conf" / "defaults.yaml"), overrides, out)
    with tarfile.open(archive) as tar:
        contents = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    assert {name: data for name, data in contents.items() if name != "ATTRIBUTION.md"} == {
        "lid.176.ftz": LID_MODEL.read_bytes(),
        "en.binary": b"kenlm en",
        "en.json": b'{"lower_case": true}',
        "zh.binary": b"kenlm zh",
        "quality_en.bin": b"fasttext en",
        "category.bin": b"fasttext categories",
    }
    assert b"CC BY-SA 3.0" in contents["ATTRIBUTION.md"]
    expected = {
        "langid.model_path": "models/lid.176.ftz",
        "perplexity.models.en": "models/en.binary",
        "perplexity.models.zh": "models/zh.binary",
        "quality_classifier.models.en": "models/quality_en.bin",
        "categories.classifier_model": "models/category.bin",
    }
    assert settings == expected
    assert json.loads((out / "models.json").read_text()) == expected


def test_models_archive_refuses_two_models_with_one_file_name(tmp_path: Path) -> None:
    overrides = [
        f"perplexity.models.en={fake_model(tmp_path / 'a' / 'lm.binary', b'en')}",
        f"perplexity.models.zh={fake_model(tmp_path / 'b' / 'lm.binary', b'zh')}",
    ]
    with pytest.raises(ConfigError) as error:
        dist.build_models_archive(str(REPO_ROOT / "conf" / "defaults.yaml"), overrides, tmp_path)
    assert str(error.value) == (
        f"perplexity.models.zh: {tmp_path / 'b' / 'lm.binary'} has the same file name as "
        f"{tmp_path / 'a' / 'lm.binary'} (perplexity.models.en); models.tar.gz keeps one folder, so rename one of them"
    )


def test_models_archive_names_the_key_of_a_missing_model(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "dist.py"), "--only", "models", "--out", str(tmp_path),
         "--set", "quality_classifier.models.en=/nonexistent/quality_en.bin"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "dist: config error: quality_classifier.models.en: model not found: /nonexistent/quality_en.bin"
    )
    assert not (tmp_path / "models.tar.gz").exists()


# -- local mode: Python workers run the driver's interpreter ----------------------------------------------------------
LOCAL_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
from jobs.base import Job

class Probe(Job):
    name = "probe"

    def run_job(self, spark, args, conf):
        workers = spark.sparkContext.parallelize(range(2), 2).map(lambda _: __import__("sys").executable).collect()
        print("workers:", *sorted(set(workers)))
        return 0

Probe().run(["--set", "spark.master=local[2]", "--set", "spark.conf={spark.ui.enabled: 'false'}"])
"""


@pytest.mark.spark
def test_local_mode_workers_use_the_driver_interpreter_without_pyspark_python(tmp_path: Path) -> None:
    # First on the PATH: a `python3` that is not the driver's (as the system Python without pyarrow was); PySpark's
    # default for its workers when PYSPARK_PYTHON is unset. Had the job not set it, every task would fail here.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    impostor = bin_dir / "python3"
    impostor.write_text("#!/bin/sh\necho 'not the driver interpreter' >&2\nexit 3\n")
    impostor.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}:/usr/local/bin:/usr/bin:/bin"
    result = subprocess.run(
        [sys.executable, "-c", LOCAL_PROBE, str(REPO_ROOT)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"workers: {sys.executable}" in result.stdout.splitlines()


# -- the pipeline on a cluster whose executors only have the packed environment ---------------------------------------
# Runs the pipeline job unchanged, after a probe of what the executors' Python is and where it imports from.
PACKED_PIPELINE = """
import json
import os

from jobs.pipeline import PipelineJob


def describe(_):
    import sys

    import fasttext, numpy, pandas, pyarrow, udfs

    yield {"executable": sys.executable, "prefix": sys.prefix, "path": sys.path,
           "modules": {m.__name__: m.__file__ for m in (fasttext, numpy, pandas, pyarrow, udfs)}}


class ProbedPipeline(PipelineJob):
    def run_job(self, spark, args, conf):
        probes = spark.sparkContext.parallelize(range(4), 4).mapPartitions(describe).collect()
        with open(os.environ["CC_REFINERY_PROBE_OUT"], "w") as handle:
            json.dump(probes, handle)
        return super().run_job(spark, args, conf)


if __name__ == "__main__":
    ProbedPipeline().run()
"""


def dist_python() -> str:
    """An interpreter of the driver's minor version outside any venv (PySpark refuses a worker of another one)."""
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    return str(system) if system.exists() else sys._base_executable  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def packed_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``scripts/dist.py`` output: env archive from a fresh venv of the wheel (cached in .cache/dist by
    pyproject.toml), code zip and models archive."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "dist.py"), "--out", str(out), "--python", dist_python()],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    facts = json.loads((out / "env.json").read_text())
    assert (facts["python"], facts["extra"]) == (dist_python(), "spark35")
    return out


# Slow (minutes: two JVMs, the archive unpacked per executor) and run once in CI: by `make test-spark35`, on the Spark
# 3.5 line the archive is meant for (EMR 7, Dataproc 2.x), not again in the default suite.
@pytest.mark.slow
@pytest.mark.cluster
def test_pipeline_on_a_cluster_with_the_packed_environment(
    spark_cluster: SparkCluster, packed_dist: Path, tmp_path: Path
) -> None:
    script = tmp_path / "packed_pipeline.py"
    script.write_text(PACKED_PIPELINE)
    probe_out = tmp_path / "executors.json"
    output = tmp_path / "out"
    models = json.loads((packed_dist / "models.json").read_text())
    spark_home = SparkCluster.spark_home()
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "PYTHONPATH")}
    env |= {"SPARK_HOME": spark_home, "SPARK_LOCAL_IP": "127.0.0.1", "CC_REFINERY_PROBE_OUT": str(probe_out)}
    result = subprocess.run(
        [str(Path(spark_home) / "bin" / "spark-submit"), "--master", spark_cluster.master_url,
         "--archives", f"{packed_dist / 'env.tar.gz'}#environment,{packed_dist / 'models.tar.gz'}#models",
         "--py-files", str(packed_dist / "cc_refinery.zip"),
         "--conf", "spark.pyspark.python=./environment/bin/python",
         "--conf", f"spark.pyspark.driver.python={sys.executable}",  # client mode: the driver is this machine's
         "--conf", "spark.executor.memory=1g", "--conf", "spark.cores.max=1",  # one executor: one unpacking
         "--conf", "spark.sql.shuffle.partitions=4",
         str(script), "--conf", "defaults.yaml", "--input", str(ZH_SAMPLE), "--output", str(output),
         *[arg for key, path in models.items() for arg in ("--set", f"{key}={path}")]],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]

    # Executors: the unpacked archive's interpreter and libraries, the code from cc_refinery.zip, nothing of .venv
    # but the Spark distribution's own pyspark.zip, py4j and jars (the cluster's Spark is pip-installed in .venv).
    probes = json.loads(probe_out.read_text())
    assert len(probes) == 4
    venv = Path(sys.prefix)
    for probe in probes:
        prefix = Path(probe["prefix"])
        assert prefix.name == "environment" and Path(spark_cluster.workdir) in prefix.parents, probe["prefix"]
        assert probe["executable"] == str(prefix / "bin" / "python")
        for name in ("fasttext", "numpy", "pandas", "pyarrow"):
            assert prefix in Path(probe["modules"][name]).parents, (name, probe["modules"][name])
        assert "cc_refinery.zip" in probe["modules"]["udfs"]
        assert [p for p in probe["path"] if p.startswith(str(venv)) and not p.startswith(spark_home)] == []
        assert any(p.startswith(spark_home) for p in probe["path"])  # the check above looked at the right paths

    # The run itself (the Chinese sample: see tests/test_pipeline_e2e.py::test_chinese_pages_end_to_end), with
    # lid.176 loaded from ./models/ of models.tar.gz.
    manifest = json.loads((output / "_manifest.json").read_text())
    totals = manifest["totals"]
    assert (totals["records_read"], totals["kept"], totals["rejected"], totals["invariant_ok"]) == (5, 3, 2, True)
    assert manifest["conf"]["langid"]["model_path"] == "models/lid.176.ftz"
    reasons = {reason: count for row in manifest["funnel"] for reason, count in row["reasons"].items()}
    assert reasons == {"dedup:exact": 1, "zh:ad_lines": 1}
    import pyarrow.parquet as pq

    documents = pq.read_table(output / "documents").to_pandas()
    assert sorted(documents["lang"].astype(str)) == ["zh", "zh", "zh"]
    assert "read = kept + rejected: yes" in result.stdout
