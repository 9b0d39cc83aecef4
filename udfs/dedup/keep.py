"""The keep policy: which copy of a duplicate group survives (``dedup.keep``), as one ordered list of sort fields.

Exact dedup (per hash), near dedup (per connected component, keep-k) and the cross-crawl band index all rank the
copies of a group with :func:`keep_order`; the Spark wiring turns it into one sortable struct (``jobs/stages/dedup.py``
``keep_key``), and :func:`rank_for_keep` applies the same order to a pandas frame. Every order ends on the document
id, so the copy kept never depends on partitioning or batch order.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from udfs.dedup.config import DedupConfig


@dataclass(frozen=True)
class SortField:
    """One field of the keep order, over the ranking columns (``id``, ``date``, ``text_length``, ``quality``)."""

    column: str
    descending: bool = False
    """Largest first (numeric columns only)."""
    missing_last: bool = False
    """Documents without a value come after every document with one."""


def keep_order(conf: DedupConfig) -> tuple[SortField, ...]:
    """From the copy to keep to the last one. ``first``: earliest date (missing last), then smallest id.
    ``longest``: longest text first, then as ``first``. ``quality``: highest score first (missing last), then as
    ``first``."""
    fields: list[SortField] = []
    if conf.keep == "quality":
        fields.append(SortField("quality", descending=True, missing_last=True))
    if conf.keep == "longest":
        fields.append(SortField("text_length", descending=True))
    return (*fields, SortField("date", missing_last=True), SortField("id"))


def rank_for_keep(members: pd.DataFrame, conf: DedupConfig) -> pd.DataFrame:
    """``members`` (with the ranking columns) sorted by :func:`keep_order`: the copy to keep first."""
    order = keep_order(conf)
    return members.sort_values(
        [f.column for f in order], ascending=[not f.descending for f in order], na_position="last", kind="stable"
    )
