"""The WET reader on literal records and on the real sample files (exact counts and reasons)."""

from __future__ import annotations

import gzip
import io
from collections import Counter

import pytest

from tests.conftest import WET_FIXTURES
from udfs import warc
from udfs.warc import ReaderLimits, read_wet


def record(headers: dict[str, str], body: bytes, length: int | None = None) -> bytes:
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(body) if length is None else length}\r\n\r\n"
    return head.encode() + body + b"\r\n\r\n"


WARCINFO = record({"WARC-Type": "warcinfo", "WARC-Record-ID": "<urn:uuid:info>"}, b"isPartOf: CC-MAIN-2024-22\r\n")


def conversion(n: int, text: str = "Some text.", **extra: str) -> bytes:
    headers = {
        "WARC-Type": "conversion",
        "WARC-Target-URI": f"https://www.Example.com:8080/page/{n}",
        "WARC-Date": "2024-05-20T10:00:00Z",
        "WARC-Record-ID": f"<urn:uuid:doc-{n}>",
        "WARC-Identified-Content-Language": "eng",
        **extra,
    }
    return record(headers, text.encode())


def read(data: bytes, name: str = "x.warc.wet", limits: ReaderLimits | None = None) -> tuple[list, warc.FileStats]:
    reader = read_wet(io.BytesIO(data), name, limits)
    docs = list(reader)
    return docs, reader.stats


def test_fields_of_a_conversion_record() -> None:
    docs, stats = read(WARCINFO + conversion(1, "Hello, world."))
    assert len(docs) == 1
    doc = docs[0]
    assert (doc.id, doc.url, doc.domain, doc.crawl, doc.date, doc.cc_lang, doc.text) == (
        "doc-1",
        "https://www.Example.com:8080/page/1",
        "example.com",
        "CC-MAIN-2024-22",
        "2024-05-20T10:00:00Z",
        "eng",
        "Hello, world.",
    )
    assert doc.reason is None
    assert doc.length == len(b"Hello, world.")
    assert doc.record_offset == len(WARCINFO)
    assert stats.warcinfo_records == 1 and stats.documents == 1 and stats.skipped == {}


@pytest.mark.parametrize("compress", ["none", "single_stream", "multi_member"])
def test_compression_variants_read_the_same(compress: str) -> None:
    records = [WARCINFO, conversion(1, "one"), conversion(2, "two"), conversion(3, "three")]
    if compress == "none":
        data = b"".join(records)
    elif compress == "single_stream":
        data = gzip.compress(b"".join(records))
    else:  # official CC layout: one gzip member per record
        data = b"".join(gzip.compress(r) for r in records)
    docs, _ = read(data)
    assert [(d.id, d.text) for d in docs] == [("doc-1", "one"), ("doc-2", "two"), ("doc-3", "three")]


def test_missing_uri_and_missing_id_are_rejected_with_reasons() -> None:
    no_uri = record({"WARC-Type": "conversion", "WARC-Record-ID": "<urn:uuid:a>"}, b"text")
    no_id = record({"WARC-Type": "conversion", "WARC-Target-URI": "http://a.org/"}, b"text")
    docs, _ = read(no_uri + no_id)
    assert [d.reason for d in docs] == [warc.REASON_MISSING_URI, warc.REASON_MISSING_ID]
    assert docs[1].id.startswith("nohdr-")


def test_truncated_body_is_rejected_and_keeps_its_text() -> None:
    data = (
        WARCINFO
        + conversion(1, "first")
        + record(
            {"WARC-Type": "conversion", "WARC-Target-URI": "http://a.org/", "WARC-Record-ID": "<urn:uuid:t>"},
            b"only part of the body",
            length=1000,
        ).rstrip(b"\r\n")
    )
    docs, _ = read(data)
    assert [(d.id, d.reason) for d in docs] == [("doc-1", None), ("t", warc.REASON_TRUNCATED)]
    assert docs[1].text == "only part of the body"


def test_file_starting_mid_record_yields_a_headerless_fragment() -> None:
    data = b"tail of a record cut by the splitter\r\nmore text\r\n\r\n" + conversion(1, "whole")
    docs, _ = read(data)
    assert [d.reason for d in docs] == [warc.REASON_HEADERLESS, None]
    assert docs[0].text == "tail of a record cut by the splitter\r\nmore text"


def test_duplicate_warcinfo_is_skipped_and_counted() -> None:
    docs, stats = read(WARCINFO + conversion(1) + WARCINFO + conversion(2))
    assert [d.id for d in docs] == ["doc-1", "doc-2"]
    assert stats.warcinfo_records == 1
    assert stats.skipped == {"duplicate_warcinfo": 1}


def test_invalid_utf8_rejected_above_the_ratio_only() -> None:
    clean_enough = "a" * 199 + "\u00e9"
    broken = b"\xff\xfe" * 50 + b"abc"
    docs, _ = read(conversion(1, clean_enough) + record(
        {"WARC-Type": "conversion", "WARC-Target-URI": "http://a.org/", "WARC-Record-ID": "<urn:uuid:bad>"}, broken
    ))  # fmt: skip
    assert [d.reason for d in docs] == [None, warc.REASON_INVALID_UTF8]


def test_one_bad_byte_in_a_long_text_is_tolerated() -> None:
    body = b"x" * 500 + b"\xff" + b"y" * 500
    docs, _ = read(record({"WARC-Type": "conversion", "WARC-Target-URI": "http://a/", "WARC-Record-ID": "<i>"}, body))
    assert docs[0].reason is None and docs[0].text.count("\ufffd") == 1


def test_record_larger_than_the_limit_is_rejected_with_its_head() -> None:
    docs, _ = read(conversion(1, "z" * 100) + conversion(2, "ok"), limits=ReaderLimits(max_record_bytes=10))
    assert [(d.id, d.reason, d.text) for d in docs] == [
        ("doc-1", warc.REASON_TOO_LARGE, "z" * 10),
        ("doc-2", None, "ok"),
    ]


def test_empty_body_is_rejected() -> None:
    docs, _ = read(conversion(1, "   \r\n "))
    assert docs[0].reason == warc.REASON_EMPTY


def test_wrong_content_length_is_reframed_both_ways() -> None:
    too_short = conversion(1, "abcdef")[:-4].replace(b"Content-Length: 6", b"Content-Length: 3") + b"\r\n\r\n"
    too_long = conversion(2, "xyz").replace(b"Content-Length: 3", b"Content-Length: 15")
    docs, stats = read(too_short + too_long + conversion(3, "fine"))
    assert [(d.id, d.text, d.reason) for d in docs] == [
        ("doc-1", "abcdef", None),
        ("doc-2", "xyz", None),
        ("doc-3", "fine", None),
    ]
    assert stats.skipped == {"reframed_content_length": 2}


def test_truncated_gzip_returns_what_it_had_and_marks_the_file() -> None:
    incompressible = " ".join(str(i * 7919 % 100003) for i in range(20000))
    data = gzip.compress(WARCINFO + conversion(1, "first") + conversion(2, incompressible))
    docs, stats = read(data[: len(data) - 200])
    assert docs[0].id == "doc-1" and docs[0].reason is None
    assert stats.status == "corrupt" and "EOFError" in (stats.error or "")
    assert docs[-1].reason in (warc.REASON_CORRUPT_GZIP, warc.REASON_TRUNCATED)


# Exact outcomes on the real sample files: (documents, {reason: count}, skipped, crawl of the first document)
SAMPLES = {
    "whirlwind.warc.wet.gz": (1, {None: 1}, {}, "CC-MAIN-2024-22"),
    "harwell_fragment3.wet.gz": (5, {None: 5}, {}, "CC-MAIN-2016-50"),
    "harwell_fragment2_no_header.wet.gz": (
        3,
        {warc.REASON_HEADERLESS: 1, None: 1, warc.REASON_TRUNCATED: 1},
        {},
        None,
    ),
    "harwell_corrupt_two_warcinfo.wet.gz": (5, {None: 5}, {"duplicate_warcinfo": 1}, "CC-MAIN-2016-50"),
    "harwell_corrupt_warcconversion_1.wet.gz": (5, {None: 4, warc.REASON_MISSING_URI: 1}, {}, "CC-MAIN-2016-50"),
    "ccnet_sample.warc.txt": (3, {None: 3}, {"reframed_content_length": 4}, "CC-MAIN-2019-13"),
    "derived_dolma_sample-0000.warc.wet.gz": (22, {None: 22}, {}, "wget-crawl-2024"),
    "derived_dolma_sample-0001.warc.wet.gz": (15, {None: 15}, {}, "wget-crawl-2024"),
    "derived_clueweb09-ja_quirk.warc.wet.gz": (29, {None: 29}, {}, "clueweb09-ja"),
    "derived_jwarc_cc.warc.wet.gz": (1, {None: 1}, {}, "unknown"),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_real_sample_files(name: str) -> None:
    expected_docs, expected_reasons, expected_skipped, crawl = SAMPLES[name]
    with open(WET_FIXTURES / name, "rb") as handle:
        reader = read_wet(handle, name)
        docs = list(reader)
    assert len(docs) == expected_docs == reader.stats.documents
    assert dict(Counter(d.reason for d in docs)) == expected_reasons
    assert reader.stats.skipped == expected_skipped
    assert reader.stats.status == "ok"
    assert docs[0].crawl == crawl or docs[-1].crawl == crawl


def test_ccnet_sample_reframes_character_counted_lengths() -> None:
    with open(WET_FIXTURES / "ccnet_sample.warc.txt", "rb") as handle:
        docs = list(read_wet(handle, "ccnet_sample.warc.txt"))
    assert [d.url for d in docs] == [
        "http://sample_english.com",
        "http://sample_chinese.zh",
        "http://sample_russian.ru",
    ]
    assert docs[0].text.startswith("Famous Mark Twain Quotes") and docs[0].text.endswith("Truth isn't.")
    assert docs[1].text.startswith("馬克·吐溫名言") and docs[1].text.endswith("真理不是。")
    # en and zh share one WARC-Record-ID in this sample; ingest's duplicate-id check rejects the second copy.
    assert docs[0].id == docs[1].id


def test_dolma_uri_in_angle_brackets_is_unwrapped() -> None:
    with open(WET_FIXTURES / "derived_dolma_sample-0000.warc.wet.gz", "rb") as handle:
        first = next(iter(read_wet(handle, "dolma")))
    assert first.url == "https://www.semanticscholar.org/research/research-team"
    assert first.domain == "semanticscholar.org"


def conversion_with_length(n: int, text: str, length_header: str) -> bytes:
    head = (
        f"WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: https://example.com/{n}\r\n"
        f"WARC-Record-ID: <urn:uuid:doc-{n}>\r\nContent-Length: {length_header}\r\n\r\n"
    )
    return head.encode() + text.encode() + b"\r\n\r\n"


@pytest.mark.parametrize("length_header", ["²", "１２", "-5", "twelve", "12 bytes"])
def test_a_malformed_length_is_one_rejected_row_and_the_file_goes_on(length_header: str) -> None:
    # "²" passed str.isdigit() and then made int() raise: the file was marked failed and the records after it lost.
    # "１２" was taken as 12. A negative or non-numeric length made two rows of one record.
    data = WARCINFO + conversion(1, "First page.") + conversion_with_length(2, "Odd header.", length_header)
    data += conversion(3, "Last page.")
    docs, stats = read(data)
    assert [(d.id, d.reason, d.text) for d in docs] == [
        ("doc-1", None, "First page."),
        ("doc-2", warc.REASON_BAD_LENGTH, "Odd header."),
        ("doc-3", None, "Last page."),
    ]
    assert stats.status == "ok" and stats.conversion_records == 3


def test_a_bad_length_body_is_capped_like_any_record() -> None:
    data = WARCINFO + conversion_with_length(1, "x" * 500, "-1") + conversion(2)
    docs, _ = read(data, limits=ReaderLimits(max_record_bytes=100))
    assert [(d.id, d.reason, len(d.text)) for d in docs] == [
        ("doc-1", warc.REASON_BAD_LENGTH, 100),
        ("doc-2", None, 10),
    ]


def test_random_bytes_are_one_capped_fragment_and_the_file_says_it_holds_no_wet() -> None:
    garbage = bytes((i * 7919 + 13) % 251 for i in range(20_000)).replace(b"WARC/", b"warc/")
    docs, stats = read(garbage, limits=ReaderLimits(max_record_bytes=1000))
    assert [d.reason for d in docs] == [warc.REASON_HEADERLESS]
    assert len(docs[0].text.encode()) <= 1000 * 3  # 1000 bytes kept; replacement characters may widen them
    assert stats.status == warc.NO_WET_RECORDS and stats.error == "no WARC records at all"
    assert stats.bytes_read == len(garbage)  # read to the end: nothing hidden


def test_a_warc_file_given_as_wet_is_named() -> None:
    response = record({"WARC-Type": "response", "WARC-Record-ID": "<urn:uuid:r1>"}, b"HTTP/1.1 200 OK\r\n\r\n<html>")
    request = record({"WARC-Type": "request", "WARC-Record-ID": "<urn:uuid:q1>"}, b"GET / HTTP/1.1\r\n\r\n")
    docs, stats = read(WARCINFO + request + response)
    assert docs == []
    assert stats.status == warc.NO_WET_RECORDS
    assert stats.error == "no WET conversion records; record types found: request, response (a WARC or WAT file?)"
