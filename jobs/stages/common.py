"""Spark plumbing shared by the row-wise stages: run a ``udfs`` batch function on live rows, then tag drops."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructField, StructType, _parse_datatype_string


@dataclass(frozen=True)
class StageContext:
    """What a stage may need beyond the frame: the session, the conf and where it may write scratch data."""

    spark: Any
    conf: Any
    output: str
    work_dir: str
    sharded: bool = False
    """True inside a shard's pass: a stage must not compute corpus-wide figures there (the global phase does)."""
    run: Mapping[str, Any] = field(default_factory=dict)
    """Facts of the run for the stages over the written output (``report``): run_id, stages, records_read,
    tokenizer."""
    results: dict[str, Any] = field(default_factory=dict)
    """Small tables the stages over the written output hand back to the driver (``report``: its token table, which
    the driver's summary prints, so it is not aggregated a second time)."""


# Spark type → pandas dtype that carries nulls without changing type (ints stay ints).
_PANDAS_DTYPES = {"bigint": "Int64", "int": "Int32", "double": "float64", "float": "float32", "boolean": "boolean"}


def map_live_rows(
    frame: DataFrame, batch_fn: Callable[[pd.DataFrame], pd.DataFrame], columns: dict[str, str]
) -> DataFrame:
    """Add or replace ``columns`` with ``batch_fn`` applied (via ``mapInPandas``) to rows still alive.

    ``batch_fn`` receives the live rows of an Arrow batch and returns a frame with exactly ``columns`` (same row
    order). Rejected rows pass through untouched, with nulls in new columns, so no work is spent on them.
    """
    fields = {f.name: f for f in frame.schema.fields}
    for name, kind in columns.items():
        fields[name] = StructField(name, _parse_datatype_string(kind), True)
    schema = StructType(list(fields.values()))
    names = list(fields)

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            out = batch.copy()
            for name, kind in columns.items():
                if name not in out:
                    out[name] = pd.Series([None] * len(out), dtype=_PANDAS_DTYPES.get(kind, "object"))
                elif kind in _PANDAS_DTYPES:
                    out[name] = out[name].astype(_PANDAS_DTYPES[kind])
            live = out["reason"].isna().to_numpy()
            if live.any():
                result = batch_fn(batch.loc[live].reset_index(drop=True))
                for name, kind in columns.items():
                    values = result[name]
                    if kind in _PANDAS_DTYPES:
                        values = values.astype(_PANDAS_DTYPES[kind])
                    out.loc[live, name] = values.to_numpy()
            yield out[names]

    return frame.mapInPandas(run, schema)


def map_columns(
    frame: DataFrame, batch_fn: Callable[[pd.DataFrame], pd.DataFrame], inputs: list[str], columns: dict[str, str]
) -> DataFrame:
    """Add or replace ``columns`` with ``batch_fn`` applied to the ``inputs`` columns of every row.

    Unlike :func:`map_live_rows` only ``inputs`` cross to Python and only ``columns`` come back (one pandas UDF
    returning a struct): the dozens of score columns a document carries stay in the JVM. Every row is processed,
    so give it live rows only. Existing columns keep their place; new ones are appended.
    """
    from pyspark.sql.functions import pandas_udf

    schema = StructType([StructField(name, _parse_datatype_string(kind), True) for name, kind in columns.items()])

    def run(batches: Iterator[tuple[pd.Series, ...]]) -> Iterator[pd.DataFrame]:
        for series in batches:
            result = batch_fn(pd.DataFrame(dict(zip(inputs, series, strict=True))))
            out = pd.DataFrame(index=range(len(result)))
            for name, kind in columns.items():
                values = result[name].reset_index(drop=True)
                out[name] = values.astype(_PANDAS_DTYPES[kind]) if kind in _PANDAS_DTYPES else values
            yield out

    # Nondeterministic: Spark must not inline the call into each field it reads (one call per batch, not five).
    udf = pandas_udf(run, schema).asNondeterministic()  # type: ignore[call-overload]
    packed = frame.withColumn("_mapped", udf(*[F.col(name) for name in inputs]))
    replaced = [F.col(f"_mapped.{name}").alias(name) if name in columns else F.col(name) for name in frame.columns]
    added = [F.col(f"_mapped.{name}").alias(name) for name in columns if name not in frame.columns]
    return packed.select(*replaced, *added)


def tag_rejects(frame: DataFrame, stage: str, reason: Column) -> DataFrame:
    """Mark live rows for which ``reason`` is non-null as dropped by ``stage``; rows already rejected keep theirs."""
    drop = F.col("reason").isNull() & reason.isNotNull()
    return frame.withColumn("stage", F.when(drop, F.lit(stage)).otherwise(F.col("stage"))).withColumn(
        "reason", F.when(drop, reason).otherwise(F.col("reason"))
    )


def first_reason(conditions: list[tuple[Column, str | Column]]) -> Column:
    """A reason column: the reason (a literal, or a column such as ``badwords:<lang>``) of the first true condition,
    else null."""
    expression = F.lit(None).cast("string")
    for condition, reason in reversed(conditions):
        expression = F.when(condition, F.lit(reason) if isinstance(reason, str) else reason).otherwise(expression)
    return expression


def per_language(values: dict[str, float | None], default: float | None) -> Column:
    """A double column holding ``values[lang]`` for each row's language, ``default`` for any other language (null
    where the value is None: the rule does not apply to that language)."""
    expression = F.lit(default).cast("double")
    for lang, value in sorted(values.items()):
        expression = F.when(F.col("lang") == lang, F.lit(value).cast("double")).otherwise(expression)
    return expression
