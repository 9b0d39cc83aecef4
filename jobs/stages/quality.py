"""Stage ``quality``: heuristic filters (C4, Gopher, FineWeb, URL, bad words, Chinese rules), then the model-based
ones (``jobs/stages/model_quality.py``).

Tag then filter: the batch function (``udfs.quality.rules.tag_batch``) writes the cleaned text (Chinese ad lines and
C4's bad lines removed, with the counts in ``zh_ad_lines_removed`` / ``c4_lines_removed``) and one score column per
rule of the registry (conf/quality.yaml); the thresholds from conf are applied here as Spark expressions (per
language where conf overrides them), so retuning a threshold re-runs an expression over stored scores, not the
tagging. Kept pages go on with the cleaned text; dropped pages keep their original text in ``rejected/``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.stages.common import first_reason, map_live_rows, per_language, tag_rejects
from udfs.document_pass import QUALITY_TEXT as CLEAN_TEXT

STAGE = "quality"


def _bound(family: Any, name: str | None) -> Column | None:
    """Per-language threshold column for the setting ``name`` (null where a language switches the rule off)."""
    if name is None:
        return None
    default = family.thresholds[name]
    overrides = family.overrides_of(name)
    if default is None and not any(v is not None for v in overrides.values()):
        return None
    return per_language(overrides, default)


def reason_column(reason: str) -> str | Column:
    """A rule's reason; ``{lang}`` becomes the document's language (``unknown`` without one), as in pandas."""
    from udfs.quality.config import UNKNOWN_LANGUAGE

    if "{lang}" not in reason:
        return reason
    head, _, tail = reason.partition("{lang}")
    language = F.coalesce(F.when(F.col("lang") != "", F.col("lang")), F.lit(UNKNOWN_LANGUAGE))
    return F.concat(F.lit(head), language, F.lit(tail))


def rule_conditions(conf: Any) -> list[tuple[Column, str | Column]]:
    """(drop condition, reason) per active rule, in check order (the first true one names the drop)."""
    from udfs.quality.rules import active_rules

    conditions = []
    for rule in active_rules(conf):
        score = F.col(rule.score)
        if rule.is_flag:
            condition = F.coalesce(score, F.lit(False))
        else:
            family = conf.families[rule.family]
            known = score.isNotNull() & ~F.isnan(score)
            tests = []
            low, high = _bound(family, rule.low), _bound(family, rule.high)
            if low is not None:
                tests.append(F.coalesce(score < low, F.lit(False)))
            if high is not None:
                tests.append(F.coalesce(score > high, F.lit(False)))
            if not tests:
                continue
            hit = tests[0] if len(tests) == 1 else tests[0] | tests[1]
            condition = known & hit
        conditions.append((condition, reason_column(rule.reason)))
    return conditions


def apply(frame: DataFrame, context: Any) -> DataFrame:
    from udfs.quality.rules import output_columns, tag_batch

    conf = context.conf.quality
    if conf.enabled:
        columns = {CLEAN_TEXT if name == "text" else name: kind for name, kind in output_columns(conf).items()}

        def tag(batch: pd.DataFrame) -> pd.DataFrame:
            return tag_batch(batch[["text", "url", "lang"]], conf).rename(columns={"text": CLEAN_TEXT})

        frame = decide(map_live_rows(frame, tag, columns), context)
    from jobs.stages import model_quality

    return model_quality.apply(frame, context)


def decide(tagged: DataFrame, context: Any) -> DataFrame:
    """The heuristic rules over their score columns (thresholds from conf, first failed rule names the drop).

    Kept pages continue with the cleaned text (ad lines and C4's lines removed); pages this stage drops keep the
    text they arrived with, so rejected/ shows what was judged.
    """
    tagged = tag_rejects(tagged, STAGE, first_reason(rule_conditions(context.conf.quality)))
    cleaned = F.when(F.col("reason").isNull() & F.col(CLEAN_TEXT).isNotNull(), F.col(CLEAN_TEXT))
    return tagged.withColumn("text", cleaned.otherwise(F.col("text"))).drop(CLEAN_TEXT)
