"""Filesystem access for the driver: small files and folders on a local disk or any Hadoop filesystem.

A path is local when it has no scheme (or ``file://``); anything else (``s3://`` through EMRFS, ``gs://``,
``hdfs://``, ``abfs://``) goes through the Hadoop ``FileSystem`` of the Spark session's JVM, so the same code writes
markers, the lock, the manifest and the report wherever the cluster can write. Only small files pass through here:
data is written by Spark itself (:mod:`jobs.output.write`).
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any


def local_path(path: str) -> str | None:
    """The local filesystem path of ``path`` (plain or ``file://``), or None for a remote one (s3://, gs://, hdfs://)."""
    if path.startswith("file://"):
        return path[len("file://") :]
    return None if "://" in path else path


def hadoop_filesystem(spark: Any, path: str) -> tuple[Any, Any]:
    """(Hadoop FileSystem, Hadoop Path) for a remote ``path``: EMRFS, the GCS connector, HDFS."""
    hadoop_path = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(path)
    return hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path


def write_text(spark: Any, path: str, text: str) -> None:
    """Write a small text file to any filesystem Spark can write to (local, HDFS, EMRFS s3://, gs://)."""
    local = local_path(path)
    if local is not None:
        os.makedirs(os.path.dirname(local) or ".", exist_ok=True)
        with open(local, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    fs, hadoop_path = hadoop_filesystem(spark, path)
    stream = fs.create(hadoop_path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def read_text(spark: Any, path: str) -> str | None:
    """A small text file from any filesystem Spark can read, or None when it does not exist."""
    local = local_path(path)
    if local is not None:
        if not os.path.exists(local):
            return None
        with open(local, encoding="utf-8") as handle:
            return handle.read()
    fs, hadoop_path = hadoop_filesystem(spark, path)
    if not fs.exists(hadoop_path):
        return None
    stream = fs.open(hadoop_path)
    try:
        jvm = spark.sparkContext._jvm
        reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
        lines = []
        line = reader.readLine()
        while line is not None:
            lines.append(line)
            line = reader.readLine()
        return "\n".join(lines)
    finally:
        stream.close()


def remove_tree(spark: Any, path: str) -> None:
    """Delete a folder or a file (scratch data, a staged shard, a marker) on any filesystem Spark can write to;
    missing is fine."""
    local = local_path(path)
    if local is not None:
        if os.path.isdir(local):
            shutil.rmtree(local, ignore_errors=True)
        elif os.path.lexists(local):
            os.remove(local)
        return
    fs, hadoop_path = hadoop_filesystem(spark, path)
    if fs.exists(hadoop_path):
        fs.delete(hadoop_path, True)


def list_names(spark: Any, path: str) -> list[str]:
    """Names of the entries of a folder (empty when it does not exist)."""
    local = local_path(path)
    if local is not None:
        return sorted(os.listdir(local)) if os.path.isdir(local) else []
    fs, hadoop_path = hadoop_filesystem(spark, path)
    if not fs.exists(hadoop_path):
        return []
    return sorted(status.getPath().getName() for status in fs.listStatus(hadoop_path))


def has_data_files(spark: Any, path: str) -> bool:
    """Whether any Parquet data file lies under ``path`` (a shard's part that wrote no row has none)."""
    local = local_path(path)
    if local is not None:
        return any(name.endswith(".parquet") for _, _, names in os.walk(local) for name in names)
    fs, hadoop_path = hadoop_filesystem(spark, path)
    if not fs.exists(hadoop_path):
        return False
    files = fs.listFiles(hadoop_path, True)
    while files.hasNext():
        if files.next().getPath().getName().endswith(".parquet"):
            return True
    return False


def copy_from_local(spark: Any, local_file: str, target: str) -> None:
    """Copy a local file to ``target`` on any filesystem Spark can write to, overwriting."""
    local = local_path(target)
    if local is not None:
        os.makedirs(os.path.dirname(local) or ".", exist_ok=True)
        shutil.copyfile(local_file, local)
        return
    hadoop_copy_from_local(spark, local_file, target)


def hadoop_copy_from_local(spark: Any, local_file: str, target: str) -> None:
    """Copy through the Hadoop FileSystem of ``target``'s scheme, overwriting (tested with ``file://``)."""
    fs, hadoop_path = hadoop_filesystem(spark, target)
    fs.copyFromLocalFile(False, True, spark.sparkContext._jvm.org.apache.hadoop.fs.Path(local_file), hadoop_path)


class OutputFiles:
    """Small-file access under one output folder, local or remote (remote needs the Spark session): the lock,
    ``_run.json`` and the commit markers."""

    def __init__(self, root: str, spark: Any = None) -> None:
        self.root = root.rstrip("/")
        self.spark = spark

    def path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def read(self, name: str) -> str | None:
        return read_text(self.spark, self.path(name))

    def write(self, name: str, text: str) -> None:
        write_text(self.spark, self.path(name), text)

    def read_json(self, name: str) -> Any:
        text = self.read(name)
        return None if text is None else json.loads(text)

    def write_json(self, name: str, value: Any) -> None:
        self.write(name, json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")

    def remove(self, name: str) -> None:
        remove_tree(self.spark, self.path(name))

    def entries(self) -> list[str]:
        return list_names(self.spark, self.root)
