"""Print the exact submission for a cluster: a spark-submit command, an EMR step, an EMR Serverless job run, a Dataproc
job or a Dataproc Serverless batch — with the packaged environment, the code, the models and the conf wired in.

    python -m jobs.submit spark-submit --master spark://host:7077 --conf defaults.yaml --input … --output /data/run
    python -m jobs.submit emr-step --cluster-id j-XXXX --artifacts s3://bucket/cc-refinery/ --conf emr.yaml \\
        --input s3://commoncrawl/crawl-data/CC-MAIN-2024-22/wet.paths.gz --output s3://bucket/runs/2024-22/ --aws-cli

Nothing is submitted and Spark is not started: the conf and every ``--set`` are loaded and validated here first (a bad
key exits 2 naming it), then one pure function per target builds the request (an argv list or the API request dict,
tested against botocore's own service models and gcloud's documented flags) and it is printed. EMR targets print the
API request as JSON (what boto3 takes, and ``aws emr-serverless start-job-run --cli-input-json``); ``emr-step
--aws-cli`` prints the ``aws emr add-steps`` command instead. The others print a shell command.

Artifacts are what ``make dist`` builds, uploaded under one prefix (``--artifacts``): ``env.tar.gz`` (the packaged
Python environment, unpacked as ``./environment`` next to the driver and every executor), ``models.tar.gz``
(``./models``), ``cc_refinery.zip`` (``--py-files``), plus the entry point ``pipeline.py`` (a copy of
``jobs/pipeline.py``) and the conf file, shipped with ``--files``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # python jobs/submit.py: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jobs.base import EXIT_BAD_INPUT, REPO_ROOT, find_conf
from udfs.config import STAGES, load_config
from udfs.errors import ConfigError

# Names of the files under --artifacts: dist/ of `make dist`, the entry point and the conf beside them.
ENV_ARCHIVE = "env.tar.gz"
MODELS_ARCHIVE = "models.tar.gz"
CODE_ZIP = "cc_refinery.zip"
ENTRY_POINT = "pipeline.py"
# Where YARN / EMR Serverless / Dataproc unpack the archives: the `#alias` is the folder name in the working directory.
ENV_ALIAS = "environment"
MODELS_ALIAS = "models"
ENV_PYTHON = f"./{ENV_ALIAS}/bin/python"
# Layout of the docker/ image (docker/install.sh): the environment and the code, for Spark on Kubernetes.
IMAGE_PREFIX = "/opt/cc-refinery"
IMAGE_PYTHON = f"{IMAGE_PREFIX}/env/bin/python"
IMAGE_ENTRY = f"local://{IMAGE_PREFIX}/app/jobs/pipeline.py"

TARGETS = ("spark-submit", "emr-step", "emr-serverless", "dataproc", "dataproc-serverless")
DEFAULT_CONF = {
    "spark-submit": "defaults.yaml",
    "emr-step": "emr.yaml",
    "emr-serverless": "emr.yaml",
    "dataproc": "dataproc.yaml",
    "dataproc-serverless": "dataproc.yaml",
}
# URI scheme the artifacts and the output must have, per target (the cluster's own object store).
STORE_SCHEME = {"emr-step": "s3://", "emr-serverless": "s3://", "dataproc": "gs://", "dataproc-serverless": "gs://"}
# Dataproc Serverless runtime: 2.3 is an LTS line with Spark 3.5 (runtime versions page of the Dataproc Serverless
# docs; 1.2 and 2.2 are the other Spark 3.5 lines, 3.0 has Spark 4.0).
DEFAULT_DATAPROC_RUNTIME = "2.3"
COMMONCRAWL_S3 = "s3://commoncrawl/"
COMMONCRAWL_HTTPS = "https://data.commoncrawl.org/"


@dataclass(frozen=True)
class PipelineArguments:
    """The arguments ``jobs/pipeline.py`` is started with on the cluster."""

    conf_name: str
    inputs: tuple[str, ...]
    output: str
    overrides: tuple[str, ...] = ()
    stages: str | None = None

    def argv(self) -> list[str]:
        args = ["--conf", self.conf_name]
        if self.inputs:
            args += ["--input", *self.inputs]
        args += ["--output", self.output]
        if self.stages:
            args += ["--stages", self.stages]
        for assignment in self.overrides:
            args += ["--set", assignment]
        return args


@dataclass(frozen=True)
class Artifacts:
    """Where the cluster finds the environment, the models, the code, the entry point and the conf."""

    env: str | None
    code: str | None
    entry: str
    conf: str | None
    models: str | None = None

    @classmethod
    def under(cls, prefix: str, conf_file: str, *, env: bool = True, models: bool = True) -> Artifacts:
        base = prefix if prefix.endswith("/") else prefix + "/"
        return cls(
            env=base + ENV_ARCHIVE if env else None,
            code=base + CODE_ZIP,
            entry=base + ENTRY_POINT,
            conf=base + Path(conf_file).name,
            models=base + MODELS_ARCHIVE if models else None,
        )

    def archives(self) -> list[str]:
        found = [f"{self.env}#{ENV_ALIAS}"] if self.env else []
        return found + ([f"{self.models}#{MODELS_ALIAS}"] if self.models else [])


@dataclass(frozen=True)
class Submission:
    """One submission: the job's arguments, the artifacts, and Spark settings given on the command line."""

    job: PipelineArguments
    artifacts: Artifacts
    spark_conf: dict[str, str] = field(default_factory=dict)
    name: str = "cc-refinery"

    def python_settings(self, *, yarn_cluster: bool = False) -> dict[str, str]:
        """Driver and executors start the packaged interpreter (it has fastText, KenLM, OpenCC; the node's has not).

        In YARN cluster mode the driver runs in the application master's container: its environment variable is
        set too, so a ``PYSPARK_PYTHON`` exported by the cluster's spark-env.sh cannot take over.
        """
        if not self.artifacts.env:
            return {}
        settings = {"spark.pyspark.python": ENV_PYTHON}
        if yarn_cluster:
            settings["spark.yarn.appMasterEnv.PYSPARK_PYTHON"] = ENV_PYTHON
        return settings


# -- one builder per target ----------------------------------------------------------------------------------------


def spark_submit_argv(
    submission: Submission,
    master: str,
    *,
    spark_submit: str = "spark-submit",
    driver_python: str | None = None,
    deploy_mode: str = "client",
    image: str | None = None,
) -> list[str]:
    """``spark-submit`` for a standalone, YARN or Kubernetes master.

    Standalone masters run Python drivers in client mode only, so the driver is this machine's interpreter
    (``driver_python``) and only executors use the shipped environment. With ``image`` (Kubernetes, or the
    docker/compose.yaml cluster) the docker/ image carries the environment and the code: nothing is shipped and
    the entry point is ``local://`` in the image.
    """
    argv = [spark_submit, "--master", master, "--deploy-mode", deploy_mode, "--name", submission.name]
    settings: dict[str, str] = {}
    if image is not None:
        if master.startswith("k8s://"):
            settings["spark.kubernetes.container.image"] = image
        settings.update({"spark.pyspark.python": IMAGE_PYTHON, "spark.pyspark.driver.python": IMAGE_PYTHON})
        entry = IMAGE_ENTRY
    else:
        artifacts = submission.artifacts
        if artifacts.archives():
            argv += ["--archives", ",".join(artifacts.archives())]
        if artifacts.code:
            argv += ["--py-files", artifacts.code]
        if artifacts.conf:
            argv += ["--files", artifacts.conf]
        settings.update(submission.python_settings(yarn_cluster=master == "yarn" and deploy_mode == "cluster"))
        if driver_python and deploy_mode == "client":
            settings["spark.pyspark.driver.python"] = driver_python
        entry = artifacts.entry
    settings.update(submission.spark_conf)
    for key, value in settings.items():
        argv += ["--conf", f"{key}={value}"]
    return [*argv, entry, *submission.job.argv()]


def emr_step_request(
    submission: Submission, cluster_id: str, *, action_on_failure: str = "CONTINUE"
) -> dict[str, Any]:
    """EMR ``AddJobFlowSteps`` request: ``command-runner.jar`` running spark-submit in YARN cluster mode.

    Cluster mode puts the driver in a YARN container, where the archives are unpacked as they are for executors, so
    driver and executors both start ``./environment/bin/python`` and find the conf shipped with ``--files``.
    """
    args = spark_submit_argv(submission, "yarn", deploy_mode="cluster")
    return {
        "JobFlowId": cluster_id,
        "Steps": [
            {
                "Name": submission.name,
                "ActionOnFailure": action_on_failure,
                "HadoopJarStep": {"Jar": "command-runner.jar", "Args": args},
            }
        ],
    }


def aws_cli_add_steps_argv(request: dict[str, Any]) -> list[str]:
    """``aws emr add-steps`` for an ``AddJobFlowSteps`` request.

    ``add-steps`` is one of the AWS CLI's hand-written EMR commands: its ``--steps`` take the CLI's own step shape
    (``Type``/``Jar``/``Args`` side by side, as in the command's documented examples), not the API's
    ``HadoopJarStep``, and it has no ``--cli-input-json``.
    """
    steps = [
        {
            "Type": "CUSTOM_JAR",
            "Name": step["Name"],
            "ActionOnFailure": step["ActionOnFailure"],
            "Jar": step["HadoopJarStep"]["Jar"],
            "Args": step["HadoopJarStep"]["Args"],
        }
        for step in request["Steps"]
    ]
    return ["aws", "emr", "add-steps", "--cluster-id", request["JobFlowId"], "--steps", json.dumps(steps)]


def emr_serverless_request(
    submission: Submission,
    application_id: str,
    execution_role_arn: str,
    *,
    log_uri: str | None = None,
    timeout_minutes: int | None = None,
) -> dict[str, Any]:
    """EMR Serverless ``StartJobRun`` request (``clientToken`` is filled in by the AWS CLI and boto3).

    The driver's environment variables are set through ``spark.emr-serverless.driverEnv.*`` (the EMR Serverless
    guide's way to point PySpark at a packaged virtual environment), the executors' through ``spark.executorEnv.*``.
    """
    artifacts = submission.artifacts
    settings: dict[str, str] = {}
    if artifacts.archives():
        settings["spark.archives"] = ",".join(artifacts.archives())
    if artifacts.code:
        settings["spark.submit.pyFiles"] = artifacts.code
    if artifacts.conf:
        settings["spark.files"] = artifacts.conf
    if artifacts.env:
        settings.update({
            "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": ENV_PYTHON,
            "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": ENV_PYTHON,
            "spark.executorEnv.PYSPARK_PYTHON": ENV_PYTHON,
        })
    settings.update(submission.spark_conf)
    parameters = " ".join(f"--conf {shlex.quote(f'{key}={value}')}" for key, value in settings.items())
    request: dict[str, Any] = {
        "applicationId": application_id,
        "executionRoleArn": execution_role_arn,
        "name": submission.name,
        "jobDriver": {
            "sparkSubmit": {
                "entryPoint": artifacts.entry,
                "entryPointArguments": submission.job.argv(),
                "sparkSubmitParameters": parameters,
            }
        },
    }
    if log_uri:
        monitoring = {"s3MonitoringConfiguration": {"logUri": log_uri}}
        request["configurationOverrides"] = {"monitoringConfiguration": monitoring}
    if timeout_minutes is not None:
        request["executionTimeoutMinutes"] = timeout_minutes
    return request


def gcloud_properties(settings: dict[str, str]) -> str:
    """``--properties`` value; gcloud's ``^DELIM^`` prefix switches the list delimiter when a value has a comma."""
    pairs = [f"{key}={value}" for key, value in settings.items()]
    if not any("," in pair for pair in pairs):
        return ",".join(pairs)
    for delimiter in "#;|@":
        if not any(delimiter in pair for pair in pairs):
            return f"^{delimiter}^" + delimiter.join(pairs)
    raise ConfigError("--spark-conf: values use every list delimiter gcloud accepts (, # ; | @)")


def _dataproc_file_flags(submission: Submission) -> list[str]:
    artifacts = submission.artifacts
    flags = [f"--py-files={artifacts.code}"] if artifacts.code else []
    if artifacts.conf:
        flags.append(f"--files={artifacts.conf}")
    if artifacts.archives():
        flags.append(f"--archives={','.join(artifacts.archives())}")
    return flags


def dataproc_job_argv(
    submission: Submission, cluster: str, region: str, *, project: str | None = None
) -> list[str]:
    """``gcloud dataproc jobs submit pyspark`` on a Dataproc cluster, the driver in YARN cluster mode.

    Dataproc runs PySpark drivers on the master node (client mode) unless ``spark.submit.deployMode=cluster``; only
    in a YARN container is the environment archive unpacked next to the driver.
    """
    settings = {"spark.submit.deployMode": "cluster", **submission.python_settings(yarn_cluster=True),
                **submission.spark_conf}
    argv = ["gcloud", "dataproc", "jobs", "submit", "pyspark", submission.artifacts.entry,
            f"--cluster={cluster}", f"--region={region}"]
    if project:
        argv.append(f"--project={project}")
    argv += _dataproc_file_flags(submission)
    argv.append(f"--properties={gcloud_properties(settings)}")
    return [*argv, "--", *submission.job.argv()]


def dataproc_batch_argv(
    submission: Submission,
    region: str,
    *,
    version: str = DEFAULT_DATAPROC_RUNTIME,
    batch: str | None = None,
    project: str | None = None,
    service_account: str | None = None,
    subnet: str | None = None,
    container_image: str | None = None,
) -> list[str]:
    """``gcloud dataproc batches submit pyspark`` on Dataproc Serverless (runtime ``version``).

    With ``container_image`` (a custom container with docker/install.sh's layout, pushed to Artifact Registry) the
    environment comes from the image instead of the archive.
    """
    argv = ["gcloud", "dataproc", "batches", "submit", "pyspark", submission.artifacts.entry,
            f"--region={region}", f"--version={version}"]
    if batch:
        argv.append(f"--batch={batch}")
    if project:
        argv.append(f"--project={project}")
    if service_account:
        argv.append(f"--service-account={service_account}")
    if subnet:
        argv.append(f"--subnet={subnet}")
    settings: dict[str, str] = {}
    if container_image:
        argv.append(f"--container-image={container_image}")
        settings.update({"spark.pyspark.python": IMAGE_PYTHON, "spark.pyspark.driver.python": IMAGE_PYTHON})
    else:
        settings.update(submission.python_settings())
        if submission.artifacts.env:
            settings["spark.pyspark.driver.python"] = ENV_PYTHON
    settings.update(submission.spark_conf)
    argv += _dataproc_file_flags(submission)
    if settings:
        argv.append(f"--properties={gcloud_properties(settings)}")
    return [*argv, "--", *submission.job.argv()]


# -- command line --------------------------------------------------------------------------------------------------


def parse_key_values(pairs: Sequence[str], option: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} {pair!r}: expected KEY=VALUE")
        settings[key.strip()] = value
    return settings


def model_overrides(models_json: str | None) -> list[str]:
    """``key=value`` for each entry of make dist's ``models.json`` (conf key → path under ``./models/``)."""
    if not models_json or not Path(models_json).is_file():
        return []
    try:
        entries = json.loads(Path(models_json).read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--models-json {models_json}: not JSON ({exc})") from exc
    if not isinstance(entries, dict):
        raise ConfigError(f"--models-json {models_json}: expected an object of conf key → path")
    return [f"{key}={value}" for key, value in entries.items()]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m jobs.submit", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = top.add_subparsers(dest="target", required=True, metavar="TARGET")
    helps = {
        "spark-submit": "spark-submit command for a standalone, YARN or Kubernetes master",
        "emr-step": "EMR on EC2 AddJobFlowSteps request (JSON for boto3), or with --aws-cli the aws emr add-steps "
        "command",
        "emr-serverless": "EMR Serverless StartJobRun request (JSON for aws emr-serverless start-job-run "
        "--cli-input-json)",
        "dataproc": "gcloud dataproc jobs submit pyspark command (Dataproc cluster)",
        "dataproc-serverless": "gcloud dataproc batches submit pyspark command (Dataproc Serverless)",
    }
    for target in TARGETS:
        p = sub.add_parser(target, help=helps[target], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        p.add_argument("--conf", default=DEFAULT_CONF[target],
                       help="conf file (checked here; shipped with --files and passed by file name)")
        p.add_argument("--input", action="extend", nargs="+", default=[], metavar="PATH",
                       help="pipeline inputs as the cluster sees them (repeatable; default: conf input.paths)")
        p.add_argument("--output", required=True, help="pipeline output folder as the cluster sees it")
        p.add_argument("--stages", default=None, help=f"subset of {','.join(STAGES)}")
        p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.SUB=VALUE",
                       help="conf override passed to the pipeline (repeatable; validated here)")
        p.add_argument("--spark-conf", action="append", default=[], metavar="KEY=VALUE",
                       help="Spark property for the submission, e.g. spark.executor.memory=8g (repeatable)")
        p.add_argument("--name", default="cc-refinery", help="application / step / job run name")
        p.add_argument("--no-models", action="store_true",
                       help=f"do not ship {MODELS_ARCHIVE}; the job then uses the language-ID model inside the "
                       "package and no KenLM or classifier model")
        p.add_argument("--models-json", default="dist/models.json",
                       help=f"the conf overrides make dist wrote for {MODELS_ARCHIVE} (passed as --set before "
                       "yours; skipped when the file is missing or with --no-models)")
        if target == "spark-submit":
            p.add_argument("--master", required=True, help="spark://host:7077, yarn, k8s://https://host:port")
            p.add_argument("--artifacts", default="dist/", help="folder or URI holding the make dist files")
            p.add_argument("--entry", default="jobs/pipeline.py", help="entry point file")
            p.add_argument("--driver-python", default=sys.executable,
                           help="interpreter of the driver (client mode runs it on this machine)")
            p.add_argument("--deploy-mode", choices=("client", "cluster"), default=None,
                           help="default: cluster on Kubernetes, client otherwise")
            p.add_argument("--image", default=None,
                           help="the docker/ image holding environment and code (Kubernetes: its name; the "
                           "docker/compose.yaml cluster: any value)")
            p.add_argument("--spark-submit", default="spark-submit", help="spark-submit executable")
        else:
            p.add_argument("--artifacts", required=True,
                           help=f"{STORE_SCHEME[target]}bucket/prefix/ the make dist files were uploaded to")
        if target == "emr-step":
            p.add_argument("--cluster-id", required=True, help="EMR cluster id (j-…)")
            p.add_argument("--action-on-failure", default="CONTINUE",
                           choices=("CONTINUE", "CANCEL_AND_WAIT", "TERMINATE_CLUSTER", "TERMINATE_JOB_FLOW"))
            p.add_argument("--aws-cli", action="store_true",
                           help="print the aws emr add-steps command (its --steps JSON) instead of the API request")
        if target == "emr-serverless":
            p.add_argument("--application-id", required=True, help="EMR Serverless application id (Spark, emr-7.x)")
            p.add_argument("--role-arn", required=True, help="job runtime role ARN")
            p.add_argument("--log-uri", default=None, help="s3:// folder for driver and executor logs")
            p.add_argument("--timeout-minutes", type=int, default=None, help="executionTimeoutMinutes")
        if target in ("dataproc", "dataproc-serverless"):
            p.add_argument("--region", required=True, help="Google Cloud region, e.g. us-central1")
            p.add_argument("--project", default=None, help="Google Cloud project (default: gcloud's)")
        if target == "dataproc":
            p.add_argument("--cluster", required=True, help="Dataproc cluster name (image 2.2 or 2.3)")
        if target == "dataproc-serverless":
            p.add_argument("--version", default=DEFAULT_DATAPROC_RUNTIME, help="Dataproc Serverless runtime version")
            p.add_argument("--batch", default=None, help="batch id (default: generated by Dataproc)")
            p.add_argument("--service-account", default=None, help="service account the batch runs as")
            p.add_argument("--subnet", default=None, help="VPC subnetwork (Private Google Access on)")
            p.add_argument("--container-image", default=None,
                           help="custom container with the environment at /opt/cc-refinery (docker/install.sh on a "
                           "base without Spark, as Dataproc Serverless requires) instead of the archive")
    return top


def _check_store(target: str, option: str, uri: str) -> None:
    scheme = STORE_SCHEME.get(target)
    if scheme and not uri.startswith(scheme):
        raise ConfigError(f"{option} {uri!r}: {target} needs a {scheme} URI the cluster can read and write")


def _check_commoncrawl_outside_aws(inputs: Sequence[str], manifest_base: str) -> None:
    """Common Crawl's bucket refuses unsigned requests and Google Cloud has no AWS credentials: use its HTTPS base."""
    for spec in inputs:
        if spec.startswith(COMMONCRAWL_S3):
            raise ConfigError(f"--input {spec}: outside AWS read Common Crawl over HTTPS: "
                              f"{COMMONCRAWL_HTTPS}{spec[len(COMMONCRAWL_S3):]}")
    if manifest_base.startswith(COMMONCRAWL_S3):
        raise ConfigError(f"input.manifest_base: {manifest_base} cannot be read outside AWS; "
                          f"use {COMMONCRAWL_HTTPS} (conf/dataproc.yaml does)")


def build(args: argparse.Namespace) -> tuple[Any, str | None]:
    """The request for ``args.target`` and, for JSON targets, a hint line naming the command that takes it.

    Raises ConfigError (naming the key or option) before anything is printed.
    """
    # An image-based spark-submit ships nothing: no models archive, so no overrides pointing into it.
    image_based = getattr(args, "image", None) is not None
    ship_models = not args.no_models and not image_based
    overrides = [*model_overrides(args.models_json if ship_models else None), *args.overrides]
    conf_path = find_conf(args.conf)
    conf = load_config(conf_path, overrides)
    if args.stages:
        unknown = [s for s in args.stages.split(",") if s.strip() and s.strip() not in STAGES]
        if unknown:
            raise ConfigError(f"--stages: unknown stage(s) {', '.join(unknown)} (stages: {', '.join(STAGES)})")
    if not args.input and not conf.input.paths:
        raise ConfigError("--input: give the inputs (or set input.paths in the conf)")
    target = args.target
    if target.startswith("dataproc"):
        _check_commoncrawl_outside_aws(args.input, conf.input.manifest_base)
    _check_store(target, "--artifacts", args.artifacts)
    _check_store(target, "--output", args.output)
    job = PipelineArguments(Path(args.conf).name, tuple(args.input), args.output, tuple(overrides), args.stages)
    spark_conf = parse_key_values(args.spark_conf, "--spark-conf")
    models = ship_models
    if target == "spark-submit":
        kubernetes = args.master.startswith("k8s://")
        if kubernetes and not args.image:
            raise ConfigError("--image: a Kubernetes master needs the docker/ image holding the environment")
        deploy_mode = args.deploy_mode or ("cluster" if kubernetes else "client")
        if deploy_mode == "cluster" and args.master.startswith("spark://"):
            raise ConfigError("--deploy-mode cluster: standalone masters run Python applications in client mode only")
        base = args.artifacts if args.artifacts.endswith("/") else args.artifacts + "/"
        # An entry point inside this checkout imports the code from disk, and the job then zips and ships that code
        # itself (Job.session) as cc_refinery.zip: a --py-files of the same name would be refused by Spark.
        code_on_disk = Path(args.entry).resolve().parent == (REPO_ROOT / "jobs").resolve()
        artifacts = Artifacts(env=base + ENV_ARCHIVE, code=None if code_on_disk else base + CODE_ZIP,
                              entry=args.entry, conf=conf_path, models=base + MODELS_ARCHIVE if models else None)
        submission = Submission(job, artifacts, spark_conf, args.name)
        argv = spark_submit_argv(submission, args.master, spark_submit=args.spark_submit,
                                 driver_python=args.driver_python, deploy_mode=deploy_mode, image=args.image)
        return argv, None
    container = getattr(args, "container_image", None) is not None  # its environment replaces env.tar.gz
    artifacts = Artifacts.under(args.artifacts, args.conf, env=not container, models=models)
    submission = Submission(job, artifacts, spark_conf, args.name)
    if target == "emr-step":
        request = emr_step_request(submission, args.cluster_id, action_on_failure=args.action_on_failure)
        if args.aws_cli:
            return aws_cli_add_steps_argv(request), None
        return request, "boto3.client('emr').add_job_flow_steps(**request), or rerun with --aws-cli"
    if target == "emr-serverless":
        if args.log_uri:
            _check_store(target, "--log-uri", args.log_uri)
        return (emr_serverless_request(submission, args.application_id, args.role_arn, log_uri=args.log_uri,
                                       timeout_minutes=args.timeout_minutes),
                "aws emr-serverless start-job-run --cli-input-json file://job-run.json")
    if target == "dataproc":
        return dataproc_job_argv(submission, args.cluster, args.region, project=args.project), None
    return dataproc_batch_argv(submission, args.region, version=args.version, batch=args.batch,
                               project=args.project, service_account=args.service_account, subnet=args.subnet,
                               container_image=args.container_image), None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        request, hint = build(args)
    except ConfigError as exc:
        print(f"submit: config error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if isinstance(request, list):
        print(shlex.join(request))
    else:
        print(json.dumps(request, indent=2))
        print(f"# submit it with: {hint}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
