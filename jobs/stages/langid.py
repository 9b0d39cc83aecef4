"""Stage ``langid``: language ID on cleaned text; ``lang``, ``lang_score`` and ``lang_method`` kept as columns.

``lang_method`` says which evidence decided (``fasttext``, ``script`` or ``second``: see udfs.langid).

Tag then filter: the batch function only predicts; the per-language minimum score from conf is applied here as a
Spark expression, so retuning a threshold never re-runs the model on stored scores.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.stages.common import first_reason, map_live_rows, per_language, tag_rejects

STAGE = "langid"


def apply(frame: DataFrame, context: Any) -> DataFrame:
    from udfs.langid import detect_languages

    conf = context.conf.langid

    def detect(batch: pd.DataFrame) -> pd.DataFrame:
        return detect_languages(batch["text"], conf)

    return decide(map_live_rows(frame, detect, {"lang": "string", "lang_score": "double", "lang_method": "string"}),
                  context)


def decide(tagged: DataFrame, context: Any) -> DataFrame:
    """The stage's drop rules over ``lang`` and ``lang_score``, thresholds per language from conf."""
    conf = context.conf.langid
    thresholds = {k: v for k, v in conf.min_score.items() if k != "default"}
    reason = first_reason(
        [
            (F.col("lang").isNull() | (F.col("lang") == ""), "langid:no_language"),
            (F.col("lang_score") < per_language(thresholds, conf.min_score.get("default", 0.0)), "langid:low_score"),
        ]
    )
    return tag_rejects(tagged, STAGE, reason)
