"""jobs/submit.py: every printed submission is checked against what its receiver accepts.

- EMR steps and EMR Serverless job runs: botocore's own service models (offline), plus the length and pattern
  constraints the models declare and botocore's client-side validation leaves to the server.
- gcloud commands: the flags documented for each subcommand (table below, with its reference page).
- spark-submit: run for real (local master, ``--dry-run`` of the pipeline), importing the code from the zip.
- The pipeline arguments every target passes: parsed by the pipeline's own argument parser.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import botocore.handlers
import botocore.session
import pytest
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

from jobs import submit
from jobs.base import code_archive
from jobs.pipeline import PipelineJob
from tests.conftest import REPO_ROOT, WET_FIXTURES

CC_MANIFEST = "crawl-data/CC-MAIN-2024-22/wet.paths.gz"
ROLE = "arn:aws:iam::123456789012:role/cc-refinery-job"

# Flags each gcloud subcommand accepts, as listed in its reference page (SYNOPSIS and FLAGS), plus the
# gcloud-wide flags. No gcloud here: a flag we emit that is not in this table is a flag gcloud would refuse.
#   cloud.google.com/sdk/gcloud/reference/dataproc/jobs/submit/pyspark
GCLOUD_JOBS_SUBMIT_PYSPARK = {
    "--cluster", "--cluster-labels", "--archives", "--async", "--bucket", "--driver-log-levels",
    "--driver-required-memory-mb", "--driver-required-vcores", "--files", "--jars", "--labels",
    "--max-failures-per-hour", "--max-failures-total", "--properties", "--properties-file", "--py-files", "--region",
}
#   cloud.google.com/sdk/gcloud/reference/dataproc/batches/submit/pyspark
GCLOUD_BATCHES_SUBMIT_PYSPARK = {
    "--archives", "--async", "--batch", "--container-image", "--deps-bucket", "--files", "--history-server-cluster",
    "--jars", "--kms-key", "--labels", "--metastore-service", "--properties", "--py-files", "--region",
    "--request-id", "--resource-manager-tag", "--service-account", "--staging-bucket", "--tags", "--ttl",
    "--user-workload-authentication-type", "--version", "--network", "--subnet",
}
#   cloud.google.com/sdk/gcloud/reference (GCLOUD WIDE FLAGS)
GCLOUD_WIDE = {
    "--access-token-file", "--account", "--billing-project", "--configuration", "--flags-file", "--flatten",
    "--format", "--help", "--impersonate-service-account", "--log-http", "--project", "--quiet", "--trace-token",
    "--user-output-enabled", "--verbosity",
}
# Archive types both subcommands document for --archives ("Supported file types: .jar, .tar, .tar.gz, .tgz, .zip").
GCLOUD_ARCHIVE_TYPES = (".jar", ".tar", ".tar.gz", ".tgz", ".zip")


def submission(conf: str = "emr.yaml", store: str = "s3://", **kwargs: Any) -> submit.Submission:
    job = submit.PipelineArguments(
        conf, (f"{store}in/{CC_MANIFEST}",), f"{store}bucket/runs/2024-22/", ("dedup.near.threshold=0.8",)
    )
    return submit.Submission(job, submit.Artifacts.under(f"{store}bucket/cc-refinery", conf), **kwargs)


def parse_pipeline_args(argv: list[str]) -> Any:
    return PipelineJob().parser().parse_args(argv)


# -- constraints botocore's validator leaves to the server ---------------------------------------------------------


# EMR's XmlString pattern names the characters above U+FFFF as a UTF-16 surrogate-pair range, which Python's re
# reads as a reversed range: written as the code point range it means.
_SURROGATE_PAIR_RANGE = r"\uD800\uDC00-\uDBFF\uDFFF"


def _compiles(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.replace(_SURROGATE_PAIR_RANGE, r"\U00010000-\U0010FFFF"), re.DOTALL)


def model_constraint_errors(value: Any, shape: Any, path: str = "") -> list[str]:
    """``max`` length and ``pattern`` of every string, ``max`` items of every list, recursively."""
    errors: list[str] = []
    meta = shape.metadata
    if shape.type_name == "string":
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} characters > max {meta['max']}")
        if "pattern" in meta and not _compiles(meta["pattern"]).fullmatch(value):
            errors.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif shape.type_name == "list":
        if "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: {len(value)} items > max {meta['max']}")
        for i, item in enumerate(value):
            errors += model_constraint_errors(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "structure":
        for name, item in value.items():
            errors += model_constraint_errors(item, shape.members[name], f"{path}.{name}")
    elif shape.type_name == "map":
        for key, item in value.items():
            errors += model_constraint_errors(item, shape.value, f"{path}[{key}]")
    return errors


def validate_aws(service: str, operation: str, request: dict[str, Any]) -> None:
    """Validate ``request`` as the AWS CLI and boto3 would send it, against the service's own model."""
    model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    params = json.loads(json.dumps(request))  # what boto3 / --cli-input-json get back from the printed JSON
    botocore.handlers.generate_idempotent_uuid(params, model)  # the client fills idempotency tokens first
    validate_parameters(params, model.input_shape)
    assert model_constraint_errors(params, model.input_shape) == []


def test_aws_validator_rejects_what_the_model_forbids() -> None:
    """The validation used below can fail: a step without its jar and an EMR Serverless run without a role."""
    step = submit.emr_step_request(submission(), "j-2AXXXXXXGAPLF")
    del step["Steps"][0]["HadoopJarStep"]["Jar"]
    with pytest.raises(ParamValidationError, match="Jar"):
        validate_aws("emr", "AddJobFlowSteps", step)
    run = submit.emr_serverless_request(submission(), "00fabc123", ROLE)
    del run["executionRoleArn"]
    with pytest.raises(ParamValidationError, match="executionRoleArn"):
        validate_aws("emr-serverless", "StartJobRun", run)
    run = submit.emr_serverless_request(submission(), "00fabc123", ROLE)
    run["jobDriver"]["sparkSubmit"]["entryPoint"] = "s3://b/" + "x" * 5000
    with pytest.raises(AssertionError, match="max 4096"):
        validate_aws("emr-serverless", "StartJobRun", run)
    step = submit.emr_step_request(submission(), "j-2AXXXXXXGAPLF")
    step["Steps"][0]["HadoopJarStep"]["Args"].append("bell\x07")  # outside EMR's XmlString characters
    with pytest.raises(AssertionError, match=r"HadoopJarStep\.Args\[\d+\]: 'bell.* does not match"):
        validate_aws("emr", "AddJobFlowSteps", step)


# -- EMR on EC2 ------------------------------------------------------------------------------------------------------


def test_emr_step_is_a_valid_add_job_flow_steps_request() -> None:
    request = submit.emr_step_request(submission(), "j-2AXXXXXXGAPLF")
    validate_aws("emr", "AddJobFlowSteps", request)
    (step,) = request["Steps"]
    assert request["JobFlowId"] == "j-2AXXXXXXGAPLF"
    assert step["ActionOnFailure"] == "CONTINUE"
    assert step["HadoopJarStep"]["Jar"] == "command-runner.jar"
    args = step["HadoopJarStep"]["Args"]
    base = "s3://bucket/cc-refinery/"
    entry = args.index(f"{base}pipeline.py")
    assert args[:entry] == [
        "spark-submit", "--master", "yarn", "--deploy-mode", "cluster", "--name", "cc-refinery",
        "--archives", f"{base}env.tar.gz#environment,{base}models.tar.gz#models",
        "--py-files", f"{base}cc_refinery.zip",
        "--files", f"{base}emr.yaml",
        "--conf", "spark.pyspark.python=./environment/bin/python",
        "--conf", "spark.yarn.appMasterEnv.PYSPARK_PYTHON=./environment/bin/python",
    ]
    job = parse_pipeline_args(args[entry + 1:])
    assert (job.conf, job.input, job.output, job.overrides) == (
        "emr.yaml", [f"s3://in/{CC_MANIFEST}"], "s3://bucket/runs/2024-22/", ["dedup.near.threshold=0.8"])


def test_emr_step_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = submit.main(["emr-step", "--cluster-id", "j-1K48XXXXXXHCB", "--artifacts", "s3://bucket/cc/",
                        "--input", f"s3://commoncrawl/{CC_MANIFEST}", "--output", "s3://bucket/out/", "--no-models",
                        "--spark-conf", "spark.executor.memory=8g", "--action-on-failure", "CANCEL_AND_WAIT"])
    out = capsys.readouterr()
    assert code == 0
    request = json.loads(out.out)
    validate_aws("emr", "AddJobFlowSteps", request)
    args = request["Steps"][0]["HadoopJarStep"]["Args"]
    assert args[args.index("--archives") + 1] == "s3://bucket/cc/env.tar.gz#environment"
    assert "spark.executor.memory=8g" in args
    assert request["Steps"][0]["ActionOnFailure"] == "CANCEL_AND_WAIT"
    assert "add_job_flow_steps(**request)" in out.err


def test_emr_step_as_an_aws_cli_command(capsys: pytest.CaptureFixture[str]) -> None:
    """--aws-cli: the same step in the CLI's own --steps shape (Type/Jar/Args; add-steps has no --cli-input-json)."""
    common = ["emr-step", "--cluster-id", "j-1K48XXXXXXHCB", "--artifacts", "s3://bucket/cc/", "--no-models",
              "--input", f"s3://commoncrawl/{CC_MANIFEST}", "--output", "s3://bucket/out/"]
    assert submit.main(common) == 0
    (api_step,) = json.loads(capsys.readouterr().out)["Steps"]
    assert submit.main([*common, "--aws-cli"]) == 0
    argv = shlex.split(capsys.readouterr().out)
    assert argv[:5] == ["aws", "emr", "add-steps", "--cluster-id", "j-1K48XXXXXXHCB"]
    assert argv[5] == "--steps" and len(argv) == 7
    assert json.loads(argv[6]) == [{
        "Type": "CUSTOM_JAR", "Name": "cc-refinery", "ActionOnFailure": "CONTINUE",
        "Jar": "command-runner.jar", "Args": api_step["HadoopJarStep"]["Args"],
    }]


def test_models_json_of_make_dist_becomes_set_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The overrides make dist wrote for models.tar.gz go first, so the user's own --set still wins."""
    models_json = tmp_path / "models.json"
    models_json.write_text(json.dumps({"langid.model_path": "models/lid.176.ftz",
                                       "perplexity.models.en": "models/en.binary"}))
    common = ["emr-step", "--cluster-id", "j-1", "--artifacts", "s3://b/cc/", "--output", "s3://b/out/",
              "--input", "s3://b/in/", "--models-json", str(models_json)]
    assert submit.main([*common, "--set", "perplexity.models.en=models/other.binary"]) == 0
    args = json.loads(capsys.readouterr().out)["Steps"][0]["HadoopJarStep"]["Args"]
    job = parse_pipeline_args(args[args.index("s3://b/cc/pipeline.py") + 1:])
    assert job.overrides == ["langid.model_path=models/lid.176.ftz", "perplexity.models.en=models/en.binary",
                             "perplexity.models.en=models/other.binary"]
    assert submit.main([*common, "--no-models"]) == 0
    args = json.loads(capsys.readouterr().out)["Steps"][0]["HadoopJarStep"]["Args"]
    assert "--set" not in args and "models" not in args[args.index("--archives") + 1]
    models_json.write_text(json.dumps({"langid.modle_path": "models/lid.176.ftz"}))
    assert submit.main(common) == 2
    assert "langid.modle_path: unknown key" in capsys.readouterr().err


# -- EMR Serverless --------------------------------------------------------------------------------------------------


def test_emr_serverless_is_a_valid_start_job_run_request() -> None:
    request = submit.emr_serverless_request(
        submission(spark_conf={"spark.executor.memory": "8g"}), "00fabc123", ROLE,
        log_uri="s3://bucket/logs/", timeout_minutes=720)
    validate_aws("emr-serverless", "StartJobRun", request)
    driver = request["jobDriver"]["sparkSubmit"]
    assert driver["entryPoint"] == "s3://bucket/cc-refinery/pipeline.py"
    words = shlex.split(driver["sparkSubmitParameters"])
    assert words[::2] == ["--conf"] * (len(words) // 2)
    settings = dict(word.split("=", 1) for word in words[1::2])
    base = "s3://bucket/cc-refinery/"
    assert settings == {
        "spark.archives": f"{base}env.tar.gz#environment,{base}models.tar.gz#models",
        "spark.submit.pyFiles": f"{base}cc_refinery.zip",
        "spark.files": f"{base}emr.yaml",
        "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": "./environment/bin/python",
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": "./environment/bin/python",
        "spark.executorEnv.PYSPARK_PYTHON": "./environment/bin/python",
        "spark.executor.memory": "8g",
    }
    job = parse_pipeline_args(driver["entryPointArguments"])
    assert (job.conf, job.output) == ("emr.yaml", "s3://bucket/runs/2024-22/")
    assert request["configurationOverrides"]["monitoringConfiguration"]["s3MonitoringConfiguration"] == {
        "logUri": "s3://bucket/logs/"}
    assert request["executionTimeoutMinutes"] == 720


# -- Dataproc --------------------------------------------------------------------------------------------------------


def split_gcloud(argv: list[str], command: list[str]) -> tuple[str, dict[str, str], list[str]]:
    """(positional main file, {flag: value}, job arguments) of a gcloud command; a repeated flag fails."""
    assert argv[: len(command)] == command
    rest = argv[len(command):]
    separator = rest.index("--")
    positional = [word for word in rest[:separator] if not word.startswith("--")]
    assert len(positional) == 1, positional
    flags: dict[str, str] = {}
    for word in rest[:separator]:
        if word.startswith("--"):
            name, _, value = word.partition("=")
            assert name not in flags, f"{name} given twice"
            flags[name] = value
    return positional[0], flags, rest[separator + 1:]


def properties(value: str) -> dict[str, str]:
    """gcloud's list syntax: ``^D^`` at the start switches the delimiter from ``,`` to ``D``."""
    delimiter = ","
    match = re.match(r"\^(.)\^", value)
    if match:
        delimiter, value = match.group(1), value[match.end():]
    return dict(pair.split("=", 1) for pair in value.split(delimiter))


def check_archives(value: str) -> list[str]:
    names = [item.split("#", 1)[0] for item in value.split(",")]
    assert all(name.endswith(GCLOUD_ARCHIVE_TYPES) for name in names), names
    return [item.split("#", 1)[1] for item in value.split(",")]


def test_dataproc_job_uses_only_documented_flags() -> None:
    argv = submit.dataproc_job_argv(submission("dataproc.yaml", "gs://"), "crawl-cluster", "us-central1",
                                    project="my-project")
    main_file, flags, job_args = split_gcloud(argv, ["gcloud", "dataproc", "jobs", "submit", "pyspark"])
    assert set(flags) <= GCLOUD_JOBS_SUBMIT_PYSPARK | GCLOUD_WIDE, set(flags) - GCLOUD_JOBS_SUBMIT_PYSPARK
    assert len({"--cluster", "--cluster-labels"} & set(flags)) == 1  # exactly one of them is required
    base = "gs://bucket/cc-refinery/"
    assert main_file == f"{base}pipeline.py"
    assert flags["--cluster"] == "crawl-cluster" and flags["--region"] == "us-central1"
    assert flags["--project"] == "my-project"
    assert flags["--py-files"] == f"{base}cc_refinery.zip"
    assert flags["--files"] == f"{base}dataproc.yaml"
    assert check_archives(flags["--archives"]) == ["environment", "models"]
    assert properties(flags["--properties"]) == {
        "spark.submit.deployMode": "cluster", "spark.pyspark.python": "./environment/bin/python",
        "spark.yarn.appMasterEnv.PYSPARK_PYTHON": "./environment/bin/python"}
    job = parse_pipeline_args(job_args)
    assert (job.conf, job.output) == ("dataproc.yaml", "gs://bucket/runs/2024-22/")


def test_dataproc_batch_uses_only_documented_flags() -> None:
    argv = submit.dataproc_batch_argv(
        submission("dataproc.yaml", "gs://", spark_conf={"spark.executor.cores": "4"}), "europe-west4",
        batch="cc-2024-22", service_account="cc-refinery@p.iam.gserviceaccount.com", subnet="default")
    main_file, flags, job_args = split_gcloud(argv, ["gcloud", "dataproc", "batches", "submit", "pyspark"])
    assert set(flags) <= GCLOUD_BATCHES_SUBMIT_PYSPARK | GCLOUD_WIDE, set(flags) - GCLOUD_BATCHES_SUBMIT_PYSPARK
    assert not {"--network", "--subnet"} <= set(flags)  # the reference makes them mutually exclusive
    assert flags["--version"] == "2.3" and flags["--region"] == "europe-west4"
    assert flags["--batch"] == "cc-2024-22"
    assert main_file == "gs://bucket/cc-refinery/pipeline.py"
    assert check_archives(flags["--archives"]) == ["environment", "models"]
    assert properties(flags["--properties"]) == {
        "spark.pyspark.python": "./environment/bin/python",
        "spark.pyspark.driver.python": "./environment/bin/python",
        "spark.executor.cores": "4",
    }
    assert parse_pipeline_args(job_args).input == [f"gs://in/{CC_MANIFEST}"]


def test_dataproc_batch_with_the_image_ships_no_environment() -> None:
    image = "europe-docker.pkg.dev/p/cc/cc-refinery:1"
    argv = submit.dataproc_batch_argv(submission("dataproc.yaml", "gs://"), "europe-west4", container_image=image)
    _, flags, _ = split_gcloud(argv, ["gcloud", "dataproc", "batches", "submit", "pyspark"])
    assert flags["--container-image"] == image
    assert properties(flags["--properties"])["spark.pyspark.python"] == submit.IMAGE_PYTHON


def test_gcloud_properties_switch_delimiter_when_a_value_has_a_comma() -> None:
    assert submit.gcloud_properties({"a": "1", "b": "2"}) == "a=1,b=2"
    value = submit.gcloud_properties({"spark.driver.extraJavaOptions": "-Da=1,2", "b": "2"})
    assert value == "^#^spark.driver.extraJavaOptions=-Da=1,2#b=2"
    assert properties(value) == {"spark.driver.extraJavaOptions": "-Da=1,2", "b": "2"}


def test_dataproc_reads_common_crawl_over_https(capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--cluster", "c", "--region", "us-central1", "--artifacts", "gs://b/cc/", "--output", "gs://b/out/"]
    assert submit.main(["dataproc", *common, "--input", f"s3://commoncrawl/{CC_MANIFEST}"]) == 2
    assert f"https://data.commoncrawl.org/{CC_MANIFEST}" in capsys.readouterr().err
    assert submit.main(["dataproc", *common, "--input", f"https://data.commoncrawl.org/{CC_MANIFEST}",
                        "--set", "input.manifest_base=s3://commoncrawl/"]) == 2
    assert "input.manifest_base" in capsys.readouterr().err
    assert submit.main(["dataproc", *common, "--input", f"https://data.commoncrawl.org/{CC_MANIFEST}"]) == 0
    printed = shlex.split(capsys.readouterr().out)
    assert printed[printed.index("--input") + 1] == f"https://data.commoncrawl.org/{CC_MANIFEST}"


def test_dataproc_conf_reads_manifest_lines_over_https(tmp_path: Path) -> None:
    """conf/dataproc.yaml turns a manifest's relative lines into Common Crawl HTTPS URLs (nothing is fetched)."""
    line = "crawl-data/CC-MAIN-2024-22/segments/1715971057216.39/wet/CC-MAIN-20240517233122-00000.warc.wet.gz"
    manifest = tmp_path / "wet.paths.gz"
    manifest.write_bytes(gzip.compress(f"{line}\n".encode()))
    job = PipelineJob()
    _, conf = job.load(["--conf", "dataproc.yaml", "--input", str(manifest), "--output", str(tmp_path / "o"),
                        "--dry-run"])
    assert job.files == [f"https://data.commoncrawl.org/{line}"]
    assert conf.s3.anonymous is False
    emr = PipelineJob()
    emr.load(["--conf", "emr.yaml", "--input", str(manifest), "--output", str(tmp_path / "o"), "--dry-run"])
    assert emr.files == [f"s3://commoncrawl/{line}"]


# -- checks before anything is printed ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["emr-step", "--cluster-id", "j-1", "--artifacts", "s3://b/", "--output", "s3://b/o",
          "--input", "s3://b/i", "--set", "dedup.near.treshold=0.8"], "dedup.near.treshold: unknown key"),
        (["emr-step", "--cluster-id", "j-1", "--artifacts", "gs://b/", "--output", "s3://b/o", "--input", "x"],
         "--artifacts 'gs://b/': emr-step needs a s3:// URI"),
        (["emr-serverless", "--application-id", "a", "--role-arn", ROLE, "--artifacts", "s3://b/",
          "--output", "/tmp/out", "--input", "x"], "--output '/tmp/out': emr-serverless needs a s3:// URI"),
        (["dataproc-serverless", "--region", "r", "--artifacts", "gs://b/", "--output", "gs://b/o"],
         "--input: give the inputs"),
        (["spark-submit", "--master", "k8s://https://127.0.0.1:6443", "--output", "/o", "--input", "x"],
         "--image: a Kubernetes master"),
        (["spark-submit", "--master", "spark://127.0.0.1:7077", "--deploy-mode", "cluster", "--output", "/o",
          "--input", "x"], "--deploy-mode cluster: standalone masters run Python applications in client mode only"),
        (["emr-step", "--cluster-id", "j-1", "--artifacts", "s3://b/", "--output", "s3://b/o", "--input", "x",
          "--stages", "ingest,tokenize"], "--stages: unknown stage(s) tokenize"),
        (["emr-step", "--cluster-id", "j-1", "--artifacts", "s3://b/", "--output", "s3://b/o", "--input", "x",
          "--spark-conf", "spark.executor.memory"], "--spark-conf 'spark.executor.memory': expected KEY=VALUE"),
    ],
)
def test_bad_settings_fail_naming_them(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert submit.main(argv) == 2
    out = capsys.readouterr()
    assert message in out.err
    assert out.out == ""


def test_image_based_submissions_take_no_model_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing is shipped with --image, so models.json must not point the job at a ./models/ that is not there."""
    models_json = tmp_path / "models.json"
    models_json.write_text(json.dumps({"langid.model_path": "models/lid.176.ftz"}))
    assert submit.main(["spark-submit", "--master", "spark://spark-master:7077", "--image", "cc-refinery:local",
                        "--input", "s3://wet/sample/", "--output", "/data/runs/x",
                        "--models-json", str(models_json)]) == 0
    printed = shlex.split(capsys.readouterr().out)
    assert "--set" not in printed and "--archives" not in printed
    assert printed[printed.index(submit.IMAGE_ENTRY) - 1] == f"spark.pyspark.driver.python={submit.IMAGE_PYTHON}"
    assert submit.main(["dataproc-serverless", "--region", "r", "--artifacts", "gs://b/cc/", "--output", "gs://b/o/",
                        "--input", "gs://b/in/", "--container-image", "europe-docker.pkg.dev/p/cc/cc:1",
                        "--models-json", str(models_json)]) == 0
    printed = shlex.split(capsys.readouterr().out)
    archives = next(word for word in printed if word.startswith("--archives="))
    assert archives == "--archives=gs://b/cc/models.tar.gz#models"  # the container has the environment
    assert "langid.model_path=models/lid.176.ftz" in printed


def test_code_zip_is_shipped_only_with_an_entry_point_outside_the_checkout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The checkout's jobs/pipeline.py imports code from disk and the job ships it as cc_refinery.zip itself; a
    second file of that name from --py-files makes Spark refuse the run (found by the standalone-cluster test)."""
    common = ["spark-submit", "--master", "spark://127.0.0.1:7077", "--input", "x", "--output", "/o", "--no-models"]
    assert submit.main([*common, "--entry", str(REPO_ROOT / "jobs" / "pipeline.py")]) == 0
    assert "--py-files" not in shlex.split(capsys.readouterr().out)
    assert submit.main([*common, "--entry", str(tmp_path / "pipeline.py"), "--artifacts", "/srv/dist"]) == 0
    printed = shlex.split(capsys.readouterr().out)
    assert printed[printed.index("--py-files") + 1] == "/srv/dist/cc_refinery.zip"


def test_kubernetes_submission_runs_from_the_image() -> None:
    argv = submit.spark_submit_argv(submission("defaults.yaml"), "k8s://https://10.0.0.1:6443",
                                    deploy_mode="cluster", image="registry/cc-refinery:1")
    assert "--archives" not in argv and "--py-files" not in argv
    assert argv[argv.index(submit.IMAGE_ENTRY) - 2:argv.index(submit.IMAGE_ENTRY)] == [
        "--conf", f"spark.pyspark.driver.python={submit.IMAGE_PYTHON}"]
    assert "spark.kubernetes.container.image=registry/cc-refinery:1" in argv


# -- spark-submit, for real ------------------------------------------------------------------------------------------


PROBE_CONF = "submit_probe.yaml"


@pytest.fixture
def uploaded(tmp_path: Path) -> Path:
    """An artifacts folder as make dist and the upload leave it, whose code zip alone holds ``submit_probe.yaml``.

    A dry run that prints the probe's run name found its conf inside the zip: spark-submit put the zip on the
    driver's path, as on a cluster. Archives stay packed (a dry run starts no SparkContext), so they are empty.
    """
    upload = tmp_path / "upload"
    upload.mkdir()
    code = upload / submit.CODE_ZIP
    shutil.copy(code_archive(), code)
    with zipfile.ZipFile(code, "a") as archive:
        archive.writestr(f"conf/{PROBE_CONF}", "extends: local.yaml\nrun:\n  name: submit-probe\n")
    for name in (submit.ENV_ARCHIVE, submit.MODELS_ARCHIVE):
        with tarfile.open(upload / name, "w:gz"):
            pass
    shutil.copy(REPO_ROOT / "jobs" / "pipeline.py", upload / submit.ENTRY_POINT)  # a lone copy, as uploaded
    return upload


def run_spark_submit(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``argv`` + the pipeline's ``--dry-run``, from a folder holding nothing of the project, without PYTHONPATH."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYSPARK_GATEWAY_PORT")}
    cwd.mkdir(exist_ok=True)
    return subprocess.run([*argv, "--dry-run"], cwd=cwd, env=environment | env, capture_output=True, text=True,
                          timeout=300)


def assert_probe_dry_run(done: subprocess.CompletedProcess[str], wet: str) -> None:
    assert done.returncode == 0, done.stderr[-3000:]
    assert "cc-refinery dry run" in done.stdout
    assert "inputs: 1 file(s)" in done.stdout and wet in done.stdout
    assert "name: submit-probe" in done.stdout  # the conf from the zip
    assert "files_per_shard: 3" in done.stdout  # the --set passed through


def spark_submit_executable() -> Path:
    found = Path(sys.executable).parent / "spark-submit"
    if not found.exists():
        pytest.fail("pyspark's spark-submit is not next to this interpreter (pip install pyspark)")
    return found


def probe_job(tmp_path: Path) -> submit.PipelineArguments:
    wet = str(WET_FIXTURES / "derived_dolma_sample-0000.warc.wet.gz")
    return submit.PipelineArguments(PROBE_CONF, (wet,), str(tmp_path / "out"), ("run.files_per_shard=3",))


@pytest.mark.spark
def test_spark_submit_command_runs_the_pipeline_from_the_code_zip(uploaded: Path, tmp_path: Path) -> None:
    """The printed spark-submit command, run for real in local mode with the pipeline's --dry-run."""
    job = probe_job(tmp_path)
    artifacts = submit.Artifacts.under(str(uploaded), PROBE_CONF)
    # local:// is how the image-based commands name their entry point: spark-submit must take it for Python too.
    artifacts = submit.Artifacts(artifacts.env, artifacts.code, f"local://{artifacts.entry}", None, artifacts.models)
    argv = submit.spark_submit_argv(submit.Submission(job, artifacts), "local[1]",
                                    spark_submit=str(spark_submit_executable()), driver_python=sys.executable)
    assert_probe_dry_run(run_spark_submit(argv, tmp_path / "work"), job.inputs[0])


@pytest.mark.spark
def test_emr_serverless_parameters_are_taken_by_spark_submit(uploaded: Path, tmp_path: Path) -> None:
    """EMR Serverless hands sparkSubmitParameters to spark-submit: run them (code as spark.submit.pyFiles, not
    --py-files) in local mode; the driver's interpreter is set the way driverEnv sets it there."""
    request = submit.emr_serverless_request(
        submit.Submission(probe_job(tmp_path), submit.Artifacts.under(str(uploaded), PROBE_CONF)), "00f", ROLE)
    driver = request["jobDriver"]["sparkSubmit"]
    argv = [str(spark_submit_executable()), "--master", "local[1]", *shlex.split(driver["sparkSubmitParameters"]),
            driver["entryPoint"], *driver["entryPointArguments"]]
    done = run_spark_submit(argv, tmp_path / "work", PYSPARK_DRIVER_PYTHON=sys.executable)
    assert_probe_dry_run(done, driver["entryPointArguments"][3])


# -- the printed spark-submit command, on a standalone cluster ------------------------------------------------------

ZH_SAMPLE = WET_FIXTURES.parent / "wet_zh" / "cc_refinery_zh_pages.warc.wet.gz"


@pytest.mark.cluster
@pytest.mark.slow
def test_printed_command_runs_the_pipeline_on_a_standalone_cluster(
    spark_cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """make dist's files (scripts/dist.py, environment cached in .cache/dist), then the command jobs.submit prints,
    run as printed: executors unpack env.tar.gz and models.tar.gz, the models.json overrides point langid at
    ./models/. The Chinese sample's outcome is the one tests/test_pipeline_e2e.py pins for local mode."""
    from tests.services import SparkCluster

    dist_dir = tmp_path / "dist"
    system_python = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
    python = system_python if Path(system_python).exists() else sys._base_executable  # type: ignore[attr-defined]
    built = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "dist.py"), "--out", str(dist_dir),
                            "--python", python], capture_output=True, text=True, timeout=1500)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-3000:]
    spark_home = SparkCluster.spark_home()
    output = tmp_path / "out"
    assert submit.main([
        "spark-submit", "--master", spark_cluster.master_url, "--artifacts", str(dist_dir),
        "--models-json", str(dist_dir / "models.json"),
        "--spark-submit", str(Path(spark_home) / "bin" / "spark-submit"),
        "--conf", "defaults.yaml", "--input", str(ZH_SAMPLE), "--output", str(output),
        "--spark-conf", "spark.executor.memory=1g", "--spark-conf", "spark.cores.max=2",
        "--spark-conf", "spark.sql.shuffle.partitions=4",
    ]) == 0
    command = shlex.split(capsys.readouterr().out)
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "PYTHONPATH")}
    env |= {"SPARK_HOME": spark_home, "SPARK_LOCAL_IP": "127.0.0.1"}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    manifest = json.loads((output / "_manifest.json").read_text())
    totals = manifest["totals"]
    assert (totals["records_read"], totals["kept"], totals["rejected"], totals["invariant_ok"]) == (5, 3, 2, True)
    assert manifest["conf"]["langid"]["model_path"] == "models/lid.176.ftz"
