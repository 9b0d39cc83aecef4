"""Stage ``normalize``: Unicode/whitespace clean-up and Traditional→Simplified Chinese (logic in udfs.normalize)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.stages.common import map_live_rows, tag_rejects
from udfs.normalize import REASON_EMPTY_AFTER_CLEANUP

STAGE = "normalize"


def apply(frame: DataFrame, context: Any) -> DataFrame:
    from udfs.normalize import normalize_batch

    conf = context.conf.normalize

    def normalize(batch: pd.DataFrame) -> pd.DataFrame:
        return normalize_batch(batch[["text"]], conf)

    return decide(map_live_rows(frame, normalize, {"text": "string", "zh_script": "string"}))


def decide(frame: DataFrame, context: Any = None) -> DataFrame:
    """The stage's drop rule over its columns: a page that was only control characters, invisible marks and blanks
    has nothing left to judge. The cleaned text is already stripped (``udfs.normalize.clean_text``), so empty means
    the empty string: no second, Spark-side notion of whitespace. (Compared with ``""``, not ``length() == 0``:
    Spark's length counts the characters of the whole page, a comparison stops at the byte length.)"""
    empty = F.when(F.col("text") == F.lit(""), F.lit(REASON_EMPTY_AFTER_CLEANUP))
    return tag_rejects(frame, STAGE, empty)
