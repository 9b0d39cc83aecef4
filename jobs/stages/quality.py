"""Stage ``quality``: heuristic filters (C4, Gopher, FineWeb, URL, bad words, Chinese rules), then the model-based
ones (``jobs/stages/model_quality.py``).

Tag then filter: the batch function (``udfs.quality.rules.tag_batch``) writes the cleaned text (Chinese ad lines and
C4's bad lines removed, with the counts in ``zh_ad_lines_removed`` / ``c4_lines_removed``) and one score column per
rule; the thresholds from conf are applied here as Spark expressions (per language where conf overrides them), so
retuning a threshold re-runs an expression over stored scores, not the tagging. Kept pages go on with the cleaned
text; dropped pages keep their original text in ``rejected/``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from jobs.stages.common import first_reason, map_live_rows, per_language, tag_rejects
from udfs.document_pass import QUALITY_TEXT as CLEAN_TEXT

STAGE = "quality"


def _bound(section: Any, field_name: str | None) -> Column | None:
    """Per-language threshold column for ``field_name`` (null where a language switches the rule off)."""
    if field_name is None:
        return None
    default = getattr(section, field_name)
    overrides = section.overrides_of(field_name)
    if default is None and not any(v is not None for v in overrides.values()):
        return None
    return per_language(overrides, default)


def rule_conditions(conf: Any) -> list[tuple[Column, str | Column]]:
    """(drop condition, reason) per active rule, in the order of ``RULES`` (the first true one names the drop)."""
    from udfs.quality.rules import active_rules

    conditions = []
    for rule in active_rules(conf):
        score = F.col(rule.column)
        if rule.is_flag:
            condition = F.coalesce(score, F.lit(False))
        else:
            section = getattr(conf, rule.section)
            known = score.isNotNull() & ~F.isnan(score)
            tests = []
            low, high = _bound(section, rule.low), _bound(section, rule.high)
            if low is not None:
                tests.append(F.coalesce(score < low, F.lit(False)))
            if high is not None:
                tests.append(F.coalesce(score > high, F.lit(False)))
            if not tests:
                continue
            hit = tests[0] if len(tests) == 1 else tests[0] | tests[1]
            condition = known & hit
        if "{lang}" in rule.name:
            reason: str | Column = F.concat(F.lit(f"{rule.family}:"), F.coalesce(F.col("lang"), F.lit("unknown")))
        else:
            reason = rule.reason
        conditions.append((condition, reason))
    return conditions


def apply(frame: DataFrame, context: Any) -> DataFrame:
    from udfs.quality.rules import OUTPUT_COLUMNS, tag_batch

    conf = context.conf.quality
    if conf.enabled:
        columns = {CLEAN_TEXT if name == "text" else name: kind for name, kind in OUTPUT_COLUMNS.items()}

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
