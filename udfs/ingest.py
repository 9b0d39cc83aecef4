"""Ingest as a batch function: input file paths in, document rows and one status row per file out.

Runs inside ``mapInArrow`` over a frame of ``(file_index, path)`` rows, one file per task, each file streamed from
its source (local, S3, HTTP); or over Spark's ``binaryFile`` rows ``(path, content)`` for Hadoop filesystems, whose
bytes Spark itself read. Rows are built
straight into Arrow record batches (no pandas object columns in between: that hand-off halved throughput).
Documents stream out in batches of ``batch_size`` rows, so memory stays bounded by one batch whatever the file size.
After the last document of a file comes one ``_kind='file'`` row with what the reader counted (warcinfo records,
skipped metadata, bytes, S3/HTTP attempts, and the error if the file could not be read completely). The driver splits
the two kinds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa

from udfs.secrets import redact_text
from udfs.sources import MemoryStream, RetryingStream, S3Settings, SourceSettings, open_input
from udfs.warc import ReaderLimits, WetDocument, read_wet

KIND_DOC = "doc"
KIND_FILE = "file"

DOC_COLUMNS: dict[str, str] = {
    "id": "string",
    "url": "string",
    "domain": "string",
    "crawl": "string",
    "date": "string",
    "cc_lang": "string",
    "text": "string",
    "source_file": "string",
    "record_offset": "bigint",
    "length": "bigint",
    "stage": "string",
    "reason": "string",
}
FILE_COLUMNS: dict[str, str] = {
    "file_index": "bigint",
    "file_status": "string",
    "file_error": "string",
    "file_documents": "bigint",
    "file_warcinfo": "bigint",
    "file_skipped": "string",
    "file_bytes": "bigint",
    "file_attempts": "bigint",
    "file_retries": "bigint",
    # Byte and record accounting of the reader (udfs.warc.FileStats): what it framed and what it consumed.
    "file_records_framed": "bigint",
    "file_records_skipped": "bigint",
    "file_bytes_in_rows": "bigint",
    "file_bytes_outside_rows": "bigint",
    "file_compressed_bytes": "bigint",
    "file_compressed_size": "bigint",
    "file_bytes_accounted": "boolean",
}
INGEST_COLUMNS: dict[str, str] = {"_kind": "string", **DOC_COLUMNS, **FILE_COLUMNS}


_ARROW_TYPES = {"string": pa.string(), "bigint": pa.int64(), "boolean": pa.bool_()}
INGEST_SCHEMA = pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in INGEST_COLUMNS.items()])


def ddl(columns: dict[str, str]) -> str:
    """A Spark DDL schema string for a column → type mapping (kept here so udfs/ stays Spark-free)."""
    return ", ".join(f"`{name}` {kind}" for name, kind in columns.items())


_RECORD_FIELDS = [c for c in DOC_COLUMNS if c != "stage"]


def _documents_batch(docs: list[WetDocument], file_index: int, scoring: Scoring | None = None) -> pa.RecordBatch:
    columns: dict[str, list[object]] = {name: [getattr(d, name) for d in docs] for name in _RECORD_FIELDS}
    columns["_kind"] = [KIND_DOC] * len(docs)
    columns["stage"] = [None if reason is None else "ingest" for reason in columns["reason"]]
    for column in FILE_COLUMNS:
        columns[column] = [None] * len(docs)
    # (file_index, record_offset) addresses a row even where ids repeat: the sharded pipeline's join key.
    columns["file_index"] = [file_index] * len(docs)
    if scoring is not None:
        from udfs.document_pass import add_scores

        columns = add_scores(columns, scoring.stages, scoring.conf, scoring.columns)
        return pa.RecordBatch.from_pydict(columns, schema=scoring.schema)
    return pa.RecordBatch.from_pydict(columns, schema=INGEST_SCHEMA)


@dataclass(frozen=True)
class Scoring:
    """The per-document stages to run on each batch as it is read (``udfs.document_pass``), and the result's
    schema: ingest's columns plus the pass's."""

    stages: tuple[str, ...]
    conf: Any
    columns: dict[str, str]
    schema: pa.Schema

    @classmethod
    def of(cls, stages: tuple[str, ...], conf: Any) -> Scoring:
        from udfs.document_pass import arrow_type, pass_columns

        columns = pass_columns(stages, conf)
        fields = [f for f in INGEST_SCHEMA if f.name not in columns]
        return cls(stages, conf, columns, pa.schema(fields + [(n, arrow_type(k)) for n, k in columns.items()]))

    def ddl(self) -> str:
        return ddl({**{c: k for c, k in INGEST_COLUMNS.items() if c not in self.columns}, **self.columns})


def read_file_rows(
    file_index: int,
    path: str,
    settings: SourceSettings | S3Settings,
    limits: ReaderLimits,
    batch_size: int,
    scoring: Scoring | None = None,
    content: Any = None,
) -> Iterator[pa.RecordBatch]:
    """Stream one WET file as row batches (scored by ``scoring`` if given), ending with its ``_kind='file'`` row.

    ``content`` is the file's bytes when Spark already read them (a buffer: read in place, not copied)."""
    batch: list[WetDocument] = []
    stream = None
    reader = None
    status, error = "ok", None
    # What the output says of the file: its path without a URL's user:password (rows carry it as source_file).
    shown_path = redact_text(path)
    try:
        stream = MemoryStream(content) if content is not None else open_input(path, settings)
        reader = read_wet(stream, shown_path, limits)
        for doc in reader:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield _documents_batch(batch, file_index, scoring)
                batch = []
        status, error = reader.stats.status, reader.stats.error
    except Exception as exc:  # a file that cannot be opened/read after retries: reported, never crashes the job
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        if stream is not None:
            stream.close()
    if batch:
        yield _documents_batch(batch, file_index, scoring)
    stats = reader.stats if reader is not None else None
    attempts = stream.attempts if isinstance(stream, RetryingStream) else 1
    retries = stream.retries if isinstance(stream, RetryingStream) else 0
    row = {column: None for column in INGEST_COLUMNS}
    row.update(
        _kind=KIND_FILE,
        source_file=shown_path,
        file_index=file_index,
        file_status=status,
        file_error=error if error is None else redact_text(error),
        file_documents=stats.documents if stats else 0,
        file_warcinfo=stats.warcinfo_records if stats else 0,
        file_skipped=json.dumps(stats.skipped if stats else {}, sort_keys=True),
        file_bytes=stats.bytes_read if stats else 0,
        file_attempts=attempts,
        file_retries=retries,
    )
    if stats is not None:
        row.update(
            file_records_framed=stats.records_framed,
            file_records_skipped=stats.records_skipped,
            file_bytes_in_rows=stats.bytes_in_rows,
            file_bytes_outside_rows=stats.bytes_outside_rows,
            file_compressed_bytes=stats.compressed_bytes_read,
            file_compressed_size=stats.compressed_size,
            # A file that failed to open or read was not consumed by the reader: nothing to account for.
            file_bytes_accounted=stats.bytes_accounted() if status != "failed" else None,
        )
    yield pa.RecordBatch.from_pylist([row], schema=INGEST_SCHEMA if scoring is None else scoring.schema)


def ingest_batches(
    batches: Iterator[pa.RecordBatch],
    settings: SourceSettings | S3Settings,
    limits: ReaderLimits,
    batch_size: int,
    scoring: Scoring | None = None,
) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: every input row is ``(file_index, path)``."""
    for files in batches:
        for file_index, path in zip(files.column("file_index").to_pylist(), files.column("path").to_pylist(),
                                    strict=True):  # fmt: skip
            yield from read_file_rows(int(file_index), str(path), settings, limits, batch_size, scoring)


class HadoopFileIndex:
    """Finds a file Spark read (``binaryFile``'s ``path``) in the input list, however the list spelled it.

    Spark qualifies paths: ``file:///x`` comes back as ``file:/x`` and ``hdfs:///x`` (a manifest line against a
    ``hdfs:///`` base) as ``hdfs://namenode:8020/x``. Paths listed on the driver are already in Spark's form.
    """

    def __init__(self, indexes: dict[str, int]) -> None:
        self.listed = {index: path for path, index in indexes.items()}
        self.exact = dict(indexes)
        found: dict[tuple[str, ...], int | None] = {}
        for path, index in indexes.items():
            for key in self._keys(path):
                found[key] = index if found.get(key, index) == index else None  # None: ambiguous
        self.loose = {key: index for key, index in found.items() if index is not None}

    @staticmethod
    def _keys(path: str) -> tuple[tuple[str, ...], ...]:
        parts = urlsplit(path)
        name = unquote(parts.path)
        return ((parts.scheme, parts.netloc, name), (parts.scheme, name))  # strict first, then without authority

    def find(self, path: str) -> tuple[int, str]:
        """``(file_index, path as the input list spells it)``."""
        index = self.exact.get(path)
        if index is None:
            index = next((self.loose[key] for key in self._keys(path) if key in self.loose), None)
        if index is None:
            raise KeyError(f"{path}: Spark read a file that is not in the input list")
        return index, self.listed[index]


def ingest_content_batches(
    batches: Iterator[pa.RecordBatch],
    file_indexes: dict[str, int],
    limits: ReaderLimits,
    batch_size: int,
    scoring: Scoring | None = None,
) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body over Spark's ``binaryFile`` rows ``(path, content)``: files Spark read from a Hadoop
    filesystem. ``file_indexes`` maps each input path to its place in the input list; rows carry that path.

    Memory in this worker: the batch's compressed files (the Arrow buffer, read in place, not copied) plus one batch
    of documents."""
    index = HadoopFileIndex(file_indexes)
    for files in batches:
        paths = files.column("path").to_pylist()
        contents = files.column("content")
        for row, spark_path in enumerate(paths):
            file_index, path = index.find(spark_path)
            buffer = contents[row].as_buffer()
            yield from read_file_rows(file_index, path, SourceSettings(), limits, batch_size, scoring,
                                      content=b"" if buffer is None else buffer)  # fmt: skip
