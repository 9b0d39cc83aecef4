"""The ``normalize`` stage in Spark: it cleans every live page and rejects the pages nothing is left of."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pyspark.testing import assertDataFrameEqual

from jobs.stages import normalize
from udfs.normalize import REASON_EMPTY_AFTER_CLEANUP, NormalizeConfig

pytestmark = pytest.mark.spark

SCHEMA = "id string, text string, stage string, reason string"


def test_pages_of_only_invisible_characters_are_rejected_empty_after_cleanup(spark: Any) -> None:
    rows = [
        ("kept", "  Hello\u00a0\u00a0world \n", None, None),
        ("zero_width", "\u200b\u200d\ufeff", None, None),  # not whitespace to ingest: it has a body
        ("controls_and_blanks", "\x00\x07 \u2060\n\n\t\u3000", None, None),
        ("bidi", "\u202a\u202e", None, None),
        ("already_rejected", "\u200b", "ingest", "ingest:x"),  # keeps its own stage and reason
    ]
    frame = spark.createDataFrame(rows, SCHEMA).coalesce(1)
    context = SimpleNamespace(conf=SimpleNamespace(normalize=NormalizeConfig()))
    result = normalize.apply(frame, context)
    expected = spark.createDataFrame(
        [
            ("kept", "Hello world", None, None, None),
            ("zero_width", "", "normalize", REASON_EMPTY_AFTER_CLEANUP, None),
            ("controls_and_blanks", "", "normalize", REASON_EMPTY_AFTER_CLEANUP, None),
            ("bidi", "", "normalize", REASON_EMPTY_AFTER_CLEANUP, None),
            ("already_rejected", "\u200b", "ingest", "ingest:x", None),
        ],
        SCHEMA + ", zh_script string",
    )
    assertDataFrameEqual(result, expected)
    counts = {r["reason"]: r["count"] for r in result.groupBy("reason").count().collect()}
    assert counts == {None: 1, REASON_EMPTY_AFTER_CLEANUP: 3, "ingest:x": 1}
