"""The langid stage in Spark: it rejects with exact counts, and its Spark drop rules decide exactly as the pandas
rule ``udfs.langid.langid_reasons`` on the same rows (issue 12: one definition per decision)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from jobs.stages import langid
from udfs.langid import LangIdConfig, langid_reasons

pytestmark = pytest.mark.spark

CONF = LangIdConfig(min_score={"default": 0.5, "en": 0.65, "zh": 0.5})
SCHEMA = "id string, text string, lang string, lang_score double, stage string, reason string"


def _context(spark: Any) -> SimpleNamespace:
    return SimpleNamespace(spark=spark, conf=SimpleNamespace(langid=CONF), output="", work_dir="")


def test_spark_rule_equals_pandas_rule_on_the_same_rows(spark: Any) -> None:
    rows = [
        ("empty", "x", "", 0.9, None, None),  # the case the two paths used to disagree on
        ("null", "x", None, 0.0, None, None),
        ("en-kept", "x", "en", 0.65, None, None),
        ("en-low", "x", "en", 0.64, None, None),
        ("fr-kept", "x", "fr", 0.5, None, None),
        ("fr-low", "x", "fr", 0.49, None, None),
        ("zh-kept", "x", "zh", 0.51, None, None),
        ("already", "x", None, 0.0, "ingest", "ingest:empty"),  # an earlier stage's reject keeps its reason
    ]
    decided = langid.decide(spark.createDataFrame(rows, SCHEMA), _context(spark)).toPandas().set_index("id")
    frame = pd.DataFrame(rows, columns=["id", "text", "lang", "lang_score", "stage", "reason"]).set_index("id")
    live = frame["reason"].isna()
    expected = langid_reasons(frame.loc[live, "lang"], frame.loc[live, "lang_score"], CONF)
    assert decided.loc[live, "reason"].tolist() == expected.tolist()
    assert decided["reason"].to_dict() == {
        "empty": "langid:no_language", "null": "langid:no_language", "en-kept": None, "en-low": "langid:low_score",
        "fr-kept": None, "fr-low": "langid:low_score", "zh-kept": None, "already": "ingest:empty",
    }  # fmt: skip
    assert decided["stage"].value_counts().to_dict() == {"langid": 4, "ingest": 1}


def test_stage_rejects_with_exact_counts(spark: Any) -> None:
    english = "The installer asks for the keyboard layout first, and then for the network settings of this machine."
    rows = [
        ("a", english, None, None),
        ("b", "北京是中华人民共和国的首都，也是全国的政治和文化中心。", None, None),
        ("c", "12345 678 https://example.com/", None, None),  # nothing but digits and a URL: no language
        ("d", "", None, None),
        ("e", "ok ok", None, None),  # lid.176 is unsure of two letters' worth of text: low score
        ("f", english, "ingest", "ingest:bad"),  # already rejected: not scored, reason kept
    ]
    frame = spark.createDataFrame(rows, "id string, text string, stage string, reason string")
    out = langid.apply(frame, _context(spark)).toPandas().set_index("id")
    assert out["reason"].to_dict() == {
        "a": None, "b": None, "c": "langid:no_language", "d": "langid:no_language", "e": "langid:low_score",
        "f": "ingest:bad",
    }  # fmt: skip
    assert out.loc[["a", "b"], "lang"].tolist() == ["en", "zh"]
    assert out["reason"].notna().sum() + out["reason"].isna().sum() == len(rows)  # kept + rejected = read
    assert pd.isna(out.loc["a", "lang_mixed"]) and pd.isna(out.loc["f", "lang"])  # lang_mixed: off by default
