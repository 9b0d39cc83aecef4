"""The job skeleton every entry point shares: arguments → conf → checks → Spark → ``run_job`` (after cc-pyspark).

A job subclass adds its own arguments in :meth:`Job.add_arguments`, checks them in :meth:`Job.validate_arguments`
(still before Spark starts, so a bad conf or a missing input costs no cluster time) and does its Spark work in
:meth:`Job.run_job`. Each job file ends with ``if __name__ == "__main__": SomeJob().run()`` so it runs both as
``python -m jobs.<name>`` and as ``spark-submit jobs/<name>.py``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

# spark-submit runs this file as a script: make the repository importable without installing it.
REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from jobs import jvm_archive  # noqa: E402
from udfs.config import PipelineConfig, load_config, read_conf_file  # noqa: E402
from udfs.errors import ConfigError, InputError  # noqa: E402
from udfs.secrets import conf_secrets, install_stream_redaction  # noqa: E402

LOG = logging.getLogger("cc_refinery")
EXIT_BAD_INPUT = 2


def find_conf(name: str) -> str:
    """Locate a conf file: as given, in the repo's ``conf/``, or shipped with ``--files`` (cluster mode)."""
    candidates = [Path(name), REPO_ROOT / "conf" / name, REPO_ROOT / "conf" / Path(name).name]
    for candidate in candidates:
        if read_conf_file(str(candidate.absolute())) is not None:  # also inside the --py-files code zip
            return str(candidate.absolute())
    try:
        from pyspark import SparkFiles

        shipped = Path(SparkFiles.get(Path(name).name))
        if shipped.is_file():
            return str(shipped)
    except Exception:  # no SparkContext yet: SparkFiles is only there under spark-submit --files
        pass
    raise ConfigError(f"conf file not found: {name} (looked in ., {REPO_ROOT / 'conf'})")


def launched_by_spark_submit() -> bool:
    """spark-submit starts Python with a gateway to its JVM; its ``--master``/``--conf`` must then win."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def use_driver_python_in_local_mode(master: str | None, settings: dict[str, str]) -> str | None:
    """Point a local master's Python workers at this interpreter unless the user chose one; returns what was set.

    PySpark starts its workers with ``$PYSPARK_PYTHON`` (default ``python3`` from the ``PATH``), so
    ``.venv/bin/python -m jobs.pipeline`` in a shell without the venv activated used to start workers from a Python
    without pyarrow. In local mode the workers run on this machine, so the driver's own ``sys.executable`` is the
    right answer. An explicit ``PYSPARK_PYTHON`` wins, then ``spark.pyspark.python`` (from spark-submit or the conf);
    any other master is left alone — its nodes have their own paths (see README, packaged environment).
    """
    if master is not None and not master.startswith("local"):
        return None
    if os.environ.get("PYSPARK_PYTHON"):
        return None
    python = settings.get("spark.pyspark.python") or sys.executable
    os.environ["PYSPARK_PYTHON"] = python  # read by SparkContext when it starts (its pythonExec)
    return python


def code_archive() -> str:
    """Zip ``udfs/``, ``jobs/`` and ``conf/`` so executors on other machines import the same code (``addPyFile``)."""
    target = Path(tempfile.mkdtemp(prefix="cc-refinery-code-")) / "cc_refinery.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in ("udfs", "jobs", "conf"):  # conf/: what a conf shipped with --files extends
            for path in sorted((REPO_ROOT / package).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    archive.write(path, path.relative_to(REPO_ROOT).as_posix())
    return str(target)


class Job:
    """Base class of every cc-refinery Spark job."""

    name = "job"
    description = ""
    default_conf = "local.yaml"

    def __init__(self) -> None:
        self.args: argparse.Namespace | None = None
        self.conf: PipelineConfig | None = None

    # -- the three hooks a job implements -------------------------------------------------------------------
    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add job-specific arguments."""

    def validate_arguments(self, args: argparse.Namespace, conf: PipelineConfig) -> None:
        """Check arguments and conf before Spark starts; raise ConfigError or InputError with a clear message."""

    def run_job(self, spark: Any, args: argparse.Namespace, conf: PipelineConfig) -> int:
        """Do the Spark work; return the process exit code."""
        raise NotImplementedError

    def dry_run(self, args: argparse.Namespace, conf: PipelineConfig) -> int:
        """Print what the job would do (``--dry-run``, for jobs that offer it) without starting Spark."""
        raise NotImplementedError

    # -- plumbing ---------------------------------------------------------------------------------------------
    def parser(self) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(
            prog=f"python -m jobs.{self.name}", description=self.description, formatter_class=_Formatter
        )
        parser.add_argument(
            "--conf",
            default=self.default_conf,
            help="YAML conf file (may `extends:` another); looked up as given, then in conf/",
        )
        parser.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY.SUB=VALUE",
            help="override any conf value (repeatable), value parsed as YAML, e.g. --set dedup.threshold=0.8",
        )
        parser.add_argument("--log-level", default="INFO", help="driver log level")
        self.add_arguments(parser)
        return parser

    def load(self, argv: list[str] | None = None) -> tuple[argparse.Namespace, PipelineConfig]:
        args = self.parser().parse_args(argv)
        conf = load_config(find_conf(args.conf), args.overrides)
        self.validate_arguments(args, conf)
        return args, conf

    def session(self, conf: PipelineConfig) -> Any:
        from pyspark import SparkConf
        from pyspark.sql import SparkSession

        spark_conf = conf.spark
        builder = SparkSession.builder.appName(spark_conf.app_name)
        submitted = None
        if launched_by_spark_submit():
            from pyspark import SparkContext

            # Attach to spark-submit's JVM first: a SparkConf made before that is an empty Python dict, and the
            # --master/--conf values (JVM system properties) would silently lose to the YAML.
            SparkContext._ensure_initialized()
            submitted = SparkConf()
        if submitted is None and spark_conf.master:
            builder = builder.master(spark_conf.master)
        settings = jvm_archive.driver_settings(conf)
        for key, value in settings.items():
            if submitted is not None and submitted.contains(key):
                continue  # spark-submit --conf wins over the YAML
            builder = builder.config(key, value)
        if submitted is not None:
            settings |= dict(submitted.getAll())
            master = submitted.get("spark.master", None)
        else:
            master = spark_conf.master  # none: pyspark starts local[*]
        use_driver_python_in_local_mode(master, settings)
        try:
            spark = builder.getOrCreate()
        except Exception:
            if not jvm_archive.discard():  # a JVM that cannot map its class archive gets one more start, without
                raise
            without = spark_conf.settings().get(jvm_archive.JAVA_OPTIONS, "")
            spark = builder.config(jvm_archive.JAVA_OPTIONS, without).getOrCreate()
        master = spark.sparkContext.master
        if not master.startswith("local") and (REPO_ROOT / "udfs").is_dir():
            # Code on disk (repository or installed wheel) is zipped for the executors; code imported from a zip
            # came with --py-files, which spark-submit ships to the executors itself.
            spark.sparkContext.addPyFile(code_archive())
        return spark

    def run(self, argv: list[str] | None = None) -> None:
        # Credentials given on the command line, in the environment or in the SDKs' credential files are scrubbed
        # from everything the driver prints, logs included (so this comes before logging is configured).
        redactor = install_stream_redaction(sys.argv[1:] if argv is None else argv, os.environ)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        try:
            args, conf = self.load(argv)
            redactor.add(conf_secrets(conf.raw))
        except (ConfigError, InputError) as exc:
            kind = "config error" if isinstance(exc, ConfigError) else "input error"
            print(f"{self.name}: {kind}: {exc}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        LOG.setLevel(args.log_level.upper())
        self.args, self.conf = args, conf
        if getattr(args, "dry_run", False):
            try:
                code = self.dry_run(args, conf)
            finally:
                jvm_archive.finish()  # resolving Hadoop inputs may have started the JVM
            sys.exit(code)
        spark = self.session(conf)
        try:
            code = self.run_job(spark, args, conf)
        except (ConfigError, InputError) as exc:  # found only once Spark could look (e.g. a Parquet schema)
            kind = "config error" if isinstance(exc, ConfigError) else "input error"
            print(f"{self.name}: {kind}: {exc}", file=sys.stderr)
            code = EXIT_BAD_INPUT
        finally:
            spark.stop()
            jvm_archive.finish()
        sys.exit(code)


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass
