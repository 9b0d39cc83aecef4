"""Stage ``langid``: language ID on cleaned text; ``lang``, ``lang_score``, ``lang_method`` and ``lang_mixed`` kept
as columns.

``lang_method`` says which evidence decided (``fasttext``, ``ensemble`` or ``script``: see udfs.langid);
``lang_mixed`` is the share of the page's characters in paragraphs of another language.

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
    from udfs.langid import OUTPUT_COLUMNS, detect_languages

    conf = context.conf.langid

    def detect(batch: pd.DataFrame) -> pd.DataFrame:
        return detect_languages(batch["text"], conf)

    return decide(map_live_rows(frame, detect, OUTPUT_COLUMNS), context)


def decide(tagged: DataFrame, context: Any) -> DataFrame:
    """The stage's drop rules over ``lang`` and ``lang_score`` as Spark expressions: the reasons and thresholds of
    ``udfs.langid.langid_reasons`` (no language = null or empty ``lang``; then the per-language minimum score)."""
    from udfs.langid import LOW_SCORE, NO_LANGUAGE, score_thresholds

    thresholds, default = score_thresholds(context.conf.langid)
    reason = first_reason(
        [
            (F.col("lang").isNull() | (F.col("lang") == ""), NO_LANGUAGE),
            (F.col("lang_score") < per_language(thresholds, default), LOW_SCORE),
        ]
    )
    return tag_rejects(tagged, STAGE, reason)
