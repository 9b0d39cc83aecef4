"""Stage ``pii``: replace e-mails, phones, IPs, ID and card numbers with typed placeholders (logic in udfs.pii).

The text column is rewritten in place and one ``pii_<kind>`` count column per kind is added; the values found are
never stored. Nothing is dropped unless ``pii.max_replacements`` is set (``pii:too_many``: directory pages and
dumps that are mostly contact data).
"""

from __future__ import annotations

from functools import reduce
from operator import add
from typing import Any

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs.stages.common import first_reason, map_live_rows, tag_rejects

STAGE = "pii"


def apply_to_rejected(frame: DataFrame, context: Any = None) -> DataFrame:
    """The stage's count columns (null) on rows that are all rejected: their text never goes to Python."""
    from udfs.pii import COUNT_COLUMNS

    counts = list(COUNT_COLUMNS.values())
    return frame.select("*", *[F.lit(None).cast("int").alias(c) for c in counts if c not in frame.columns])


def apply(frame: DataFrame, context: Any) -> DataFrame:
    from udfs.pii import COUNT_COLUMNS, redact_batch

    conf = context.conf.pii
    counts = list(COUNT_COLUMNS.values())
    if not conf.enabled:
        return apply_to_rejected(frame)

    def redact(batch: pd.DataFrame) -> pd.DataFrame:
        return redact_batch(batch["text"], batch.get("lang"), conf)

    redacted = map_live_rows(frame, redact, {"text": "string", **{c: "int" for c in counts}})
    return decide(redacted, context)


def decide(redacted: DataFrame, context: Any) -> DataFrame:
    """``pii:too_many`` over the count columns, when ``pii.max_replacements`` is set (else nothing is dropped)."""
    from udfs.pii import COUNT_COLUMNS

    conf = context.conf.pii
    if conf.max_replacements is None:
        return redacted
    total = reduce(add, [F.col(c) for c in COUNT_COLUMNS.values()])
    return tag_rejects(redacted, STAGE, first_reason([(total > conf.max_replacements, "pii:too_many")]))
