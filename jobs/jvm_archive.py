"""Class-data sharing for the driver JVM of local runs (``spark.class_archive_dir``).

A local run's JVM spends a large part of its CPU loading and verifying Spark's ~18,000 classes: on a 10 MB run,
the JVM used ~33 CPU-seconds of which the class loader is the largest single item (JFR), and most of it is the same
every run. Java 17 can dump the classes a run loaded into an archive (``-XX:ArchiveClassesAtExit``) and map that
archive at the next start (``-XX:SharedArchiveFile``), so later runs skip the parsing and verification.

The first local run whose JVM this process starts dumps the archive when its JVM exits; :func:`finish` waits for
that exit and publishes the archive under its final name only after ``java -Xshare:on`` has mapped it (a truncated
archive crashes the JVM that maps it, so nothing unchecked is ever used). Later runs map it. The archive's name is a
digest of everything that must match for it to be valid (the Java binary, Spark's jars, the JVM options, extra
class paths), so another Java or Spark version, or other options, make a new archive instead of a bad one; a JVM
that still cannot start with an archive makes :func:`discard` remove it, and the session is started again without.

Only local masters not launched by ``spark-submit`` use this: elsewhere the JVM is not ours to start.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from py4j.protocol import Py4JError

LOG = logging.getLogger("cc_refinery")

JAVA_OPTIONS = "spark.driver.extraJavaOptions"
KEYED_SETTINGS = (JAVA_OPTIONS, "spark.driver.extraClassPath", "spark.jars", "spark.jars.packages",
                  "spark.driver.memory")
"""Settings that change the JVM's class path or its flags: part of the archive's name."""
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"
"""A missing or mismatched archive is then skipped without a warning on stdout."""
STALE_PART_SECONDS = 3600.0
_NOT_FOR_THE_CHECK = ("-XX:ArchiveClassesAtExit", "-XX:SharedArchiveFile", "-Xshare", "-Xlog",
                      "-XX:StartFlightRecording", "-agentlib", "-agentpath", "-javaagent")
"""JVM arguments the check of a fresh dump leaves out: the archive flags it sets itself, logging, profilers."""


@dataclass(frozen=True)
class ClassArchive:
    path: Path
    """The published archive (used when it exists)."""
    dump_to: Path | None
    """Where this run's JVM dumps its classes when there is no archive yet (published by :func:`finish`)."""

    @property
    def java_options(self) -> str:
        if self.dump_to is not None:
            return f"-XX:ArchiveClassesAtExit={self.dump_to} {QUIET}"
        return f"-XX:SharedArchiveFile={self.path} {QUIET}"


_planned: ClassArchive | None = None
"""The archive this process's JVM was (or is about to be) started with: one decision per process."""


def resolve_directory(value: str) -> Path:
    """``auto`` is ``$XDG_CACHE_HOME/cc-refinery/jvm`` (``~/.cache`` without it); ``~`` and variables expand."""
    if value == "auto":
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "cc-refinery" / "jvm"
    return Path(os.path.expandvars(os.path.expanduser(value)))


def java_binary() -> str | None:
    """The ``java`` pyspark's launcher runs: ``$JAVA_HOME/bin/java``, else the one on the ``PATH``."""
    home = os.environ.get("JAVA_HOME")
    found = os.path.join(home, "bin", "java") if home else shutil.which("java")
    return os.path.realpath(found) if found and os.path.exists(found) else None


def archive_key(java: str, spark_jars: Path, settings: dict[str, str]) -> str:
    """A digest of what the archive depends on: the Java binary, every Spark jar (name, size, time), the
    :data:`KEYED_SETTINGS`."""
    digest = hashlib.sha256()
    stat = os.stat(java)
    digest.update(f"{java}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    for jar in sorted(spark_jars.glob("*.jar")):
        jar_stat = jar.stat()
        digest.update(f"{jar.name}\0{jar_stat.st_size}\0{jar_stat.st_mtime_ns}\0".encode())
    for key in KEYED_SETTINGS:
        digest.update(f"{key}={settings.get(key, '')}\0".encode())
    return digest.hexdigest()[:16]


def _spark_jars() -> Path:
    from pyspark.find_spark_home import _find_spark_home

    return Path(_find_spark_home()) / "jars"


def remove_stale_parts(directory: Path, now: float | None = None) -> None:
    """Dumps a killed run left behind (never published): gone after an hour."""
    now = time.time() if now is None else now
    for part in directory.glob("*.part"):
        try:
            if now - part.stat().st_mtime > STALE_PART_SECONDS:
                part.unlink()
        except OSError:
            pass


def plan(directory: Path, settings: dict[str, str], java: str, spark_jars: Path) -> ClassArchive:
    """Map the published archive if there is one, else dump one at exit (to a name of this process's own)."""
    directory.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(directory)
    path = directory / f"spark-{archive_key(java, spark_jars, settings)}.jsa"
    if path.is_file():
        return ClassArchive(path, None)
    return ClassArchive(path, path.with_name(f"{path.name}.{os.getpid()}.part"))


def driver_settings(conf: Any) -> dict[str, str]:
    """The Spark settings of ``conf`` for the JVM this process is about to start, with the class archive's options
    when ``spark.class_archive_dir`` is set, the master is local and no JVM runs yet (decided once per process)."""
    global _planned
    settings = conf.spark.settings()
    if _planned is None and _may_start_jvm(conf):
        java = java_binary()
        if java is not None:
            try:
                _planned = plan(resolve_directory(conf.spark.class_archive_dir), settings, java, _spark_jars())
                LOG.info("class archive: %s %s", "dumping at exit to" if _planned.dump_to else "mapping",
                         _planned.dump_to or _planned.path)
            except OSError as exc:  # an unwritable cache folder costs speed, never the run
                LOG.warning("class archive off: %s", exc)
    if _planned is not None:
        settings[JAVA_OPTIONS] = f"{settings.get(JAVA_OPTIONS, '')} {_planned.java_options}".strip()
    return settings


def _may_start_jvm(conf: Any) -> bool:
    from pyspark import SparkContext

    from jobs.base import launched_by_spark_submit

    master = conf.spark.master or "local[*]"
    return (bool(conf.spark.class_archive_dir) and master.startswith("local") and not launched_by_spark_submit()
            and SparkContext._gateway is None)


def discard() -> bool:
    """The JVM would not start with the archive: remove it (and stop using it in this process). True if there was
    one to remove, so the caller may try once more without."""
    global _planned
    archive, _planned = _planned, None
    if archive is None or archive.dump_to is not None:
        return False
    LOG.warning("the JVM did not start with the class archive %s: removed", archive.path)
    archive.path.unlink(missing_ok=True)
    return True


def finish() -> None:
    """After ``spark.stop()``: if this run dumps an archive, let its JVM exit, check the dump and publish it."""
    global _planned
    from pyspark import SparkContext

    archive, _planned = _planned, None  # a later session of this process (tests) decides afresh
    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None)
    if archive is None or archive.dump_to is None or process is None:
        return
    started = time.time()
    try:
        # What the check of the dump must start a JVM with: a dynamic archive maps only for the class path (and the
        # flags) it was dumped under.
        runtime = SparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
        class_path = str(SparkContext._jvm.System.getProperty("java.class.path"))
        flags = [str(a) for a in runtime.getInputArguments() if not str(a).startswith(_NOT_FOR_THE_CHECK)]
        gateway.shutdown()
        process.stdin.close()  # the gateway JVM exits when its stdin closes, and dumps its classes on the way out
        code = process.wait(timeout=300)
    except (OSError, subprocess.TimeoutExpired, Py4JError) as exc:
        LOG.warning("class archive not written: %s", exc)
        return
    finally:
        SparkContext._gateway = None
        SparkContext._jvm = None
    if code == 0 and publish(archive.dump_to, archive.path, [java_binary() or "java", *flags, "-cp", class_path]):
        LOG.info("class archive for later local runs written in %.1f s: %s", time.time() - started, archive.path)
    else:
        archive.dump_to.unlink(missing_ok=True)


def publish(dump: Path, path: Path, java: list[str]) -> bool:
    """Rename ``dump`` to ``path`` if ``java`` (the command and flags of the JVM that dumped it) maps it:
    ``-Xshare:on`` fails instead of falling back."""
    if not dump.is_file():
        return False
    try:
        check = subprocess.run([*java, f"-XX:SharedArchiveFile={dump}", "-Xshare:on", "-version"],
                               capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        LOG.warning("class archive %s not checked (%s): not published", dump, exc)
        return False
    if check.returncode != 0:
        LOG.warning("class archive %s unusable (exit %d): not published", dump, check.returncode)
        return False
    os.replace(dump, path)
    return True
