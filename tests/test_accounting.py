"""Byte and record accounting of the WET reader (issue 11): every decompressed byte read is in one row or counted
outside rows, every framed record is a row or skipped, every raw byte of a file is consumed — per file, in
``stats/files.parquet``, and checked against sizes computed here independently of the reader."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import WET_FIXTURES
from tests.test_warc import WARCINFO, conversion, record
from tests.warc_fuzz import decompress_all
from udfs.warc import REASON_TOO_LARGE, ReaderLimits, read_wet


def read(data: bytes, limits: ReaderLimits | None = None) -> tuple[list, Any]:
    reader = read_wet(io.BytesIO(data), "x.warc.wet", limits)
    return list(reader), reader.stats


def test_rows_and_separators_partition_the_stream() -> None:
    first, second = conversion(1, "One."), conversion(2, "Two.")
    data = WARCINFO + first + second
    docs, stats = read(data)
    # record() ends each record with the 4-byte blank-line separator, which belongs to no row.
    assert [(d.record_offset, d.span) for d in docs] == [
        (len(WARCINFO), len(first) - 4),
        (len(WARCINFO) + len(first), len(second) - 4),
    ]
    assert (stats.records_framed, stats.records_skipped, stats.documents) == (3, 1, 2)
    assert stats.bytes_in_rows == len(first) + len(second) - 8
    assert stats.bytes_outside_rows == len(WARCINFO) + 8
    assert stats.bytes_read == len(data) and stats.bytes_accounted()


def test_gzip_members_are_consumed_to_the_last_compressed_byte() -> None:
    data = b"".join(gzip.compress(r, mtime=0) for r in (WARCINFO, conversion(1), conversion(2)))
    raw = io.BytesIO(data)
    raw.size = len(data)  # type: ignore[attr-defined]  # as a local file or an object store reports it
    reader = read_wet(raw, "x.warc.wet.gz")
    list(reader)
    assert (reader.stats.compressed_bytes_read, reader.stats.compressed_size) == (len(data), len(data))
    assert reader.stats.bytes_accounted()


def test_a_record_whose_successor_lost_its_version_line_is_capped() -> None:
    """Found by the fuzzer: re-framing extended a body to the next version line without a cap, so a record followed
    by a headerless one grew past ``max_record_bytes`` (7,720 bytes under a 4,096 cap)."""
    headerless = conversion(2, "B" * 3000).split(b"\n", 1)[1]  # the version line lost
    data = conversion(1, "A" * 3000) + headerless + conversion(3, "C.")
    docs, stats = read(data, ReaderLimits(max_record_bytes=4096))
    assert [(d.id, d.reason, d.length) for d in docs] == [
        ("doc-1", REASON_TOO_LARGE, 4096),
        ("doc-3", None, 2),
    ]
    # The rest is read past, in its row (with the blank lines before the next record: re-framing reads to it).
    assert docs[0].span == len(conversion(1, "A" * 3000)) + len(headerless)
    assert stats.bytes_accounted()


def test_a_metadata_record_cut_short_by_a_broken_stream_is_counted_as_skipped() -> None:
    info = gzip.compress(WARCINFO, mtime=0)
    broken = gzip.compress(record({"WARC-Type": "metadata"}, b"x" * 5000), mtime=0)[:-30]
    docs, stats = read(gzip.compress(conversion(1), mtime=0) + info + broken)
    assert [d.id for d in docs] == ["doc-1"]
    assert stats.status == "corrupt"
    assert (stats.records_framed, stats.records_skipped) == (3, 2)
    assert stats.bytes_accounted()


@pytest.mark.spark
def test_per_file_accounting_matches_sizes_measured_here(spark: Any, tmp_path: Path) -> None:
    from tests.test_pipeline_e2e import run_pipeline

    names = ["derived_jwarc_cc.warc.wet.gz", "harwell_fragment3.wet.gz", "ccnet_sample.warc.txt"]
    files = [WET_FIXTURES / name for name in names]
    code, manifest = run_pipeline(spark, ["--input", *map(str, files), "--output", str(tmp_path / "out"),
                                          "--stages", "ingest"])  # fmt: skip
    assert code == 0 and manifest["totals"]["invariant_ok"]
    stats = spark.read.parquet(str(tmp_path / "out" / "stats" / "files.parquet")).toPandas()
    by_name = {Path(row["path"]).name: row for row in stats.to_dict("records")}
    for path in files:
        row = by_name[path.name]
        raw = path.read_bytes()
        assert row["bytes_compressed_read"] == row["bytes_compressed_size"] == len(raw)
        assert row["bytes_decompressed"] == len(decompress_all(raw)[0])
        assert row["bytes_in_rows"] + row["bytes_outside_rows"] == row["bytes_decompressed"]
        assert row["records_framed"] == row["records_read"] + row["records_skipped"]
        assert row["bytes_accounted"] and row["accounted"]
    assert {name: by_name[name]["records_read"] for name in names} == {
        "derived_jwarc_cc.warc.wet.gz": 1, "harwell_fragment3.wet.gz": 5, "ccnet_sample.warc.txt": 3,
    }  # fmt: skip
