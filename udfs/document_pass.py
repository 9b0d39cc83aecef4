"""The per-document stages of a shard in one Python pass: normalize, langid and quality scores, dedup band keys.

The sharded pipeline reads each WET file and runs this on every batch of its records inside the same Python
worker (``udfs.ingest.ingest_batches`` with a ``transform``), so a document's text crosses the JVM↔Python
boundary once, on its way out, instead of once in and out per stage. Only scores are computed here (tag); the
keep/drop decisions stay Spark expressions over these columns, applied in stage order by ``jobs/sharded.py``
(filter), exactly as the one-stage-at-a-time path applies them.

The pass still skips the work the decisions will throw away: it applies the same rules in pandas (the forms the
tests check against the Spark expressions), so a stage scores only the rows the earlier stages keep, and only rows
every stage keeps get dedup keys. Quality drops about half of a crawl; their band keys were ~10 % of the pass. The
sharded pipeline nulls the columns of dropped rows either way, so ``rejected/`` shows what the one-stage path shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

QUALITY_TEXT = "_quality_text"
"""The text with the quality stage's line removals (ad lines, C4 lines): it replaces ``text`` for kept pages."""
URL_CATEGORY = "_url_category"
"""The URL-rule category of every row (``tokens`` stage), from Arrow's RE2 in the pass: the same rules as Spark
``rlike`` expressions cost the JVM ~10x the CPU time (~40 % of the finalize phase's task time on the bench)."""

_ARROW = {
    "string": pa.string(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "binary": pa.binary(),
    "array<bigint>": pa.list_(pa.int64()),
}


def columns_by_stage(stages: Sequence[str], conf: Any) -> dict[str, dict[str, str]]:
    """Per stage that runs, the columns (name → Spark type) the pass adds or replaces for it."""
    columns: dict[str, dict[str, str]] = {}
    if "normalize" in stages:
        columns["normalize"] = {"text": "string", "zh_script": "string"}
    if "langid" in stages:
        from udfs.langid import OUTPUT_COLUMNS

        columns["langid"] = dict(OUTPUT_COLUMNS)
    if "quality" in stages and conf.quality.enabled:
        from udfs.quality.rules import output_columns

        quality_columns = output_columns(conf.quality)
        columns["quality"] = {QUALITY_TEXT if name == "text" else name: kind for name, kind in quality_columns.items()}
    if "dedup" in stages:
        # The keys the global phase reads instead of the text (jobs/stages/keys.py).
        columns["dedup"] = {"_text_length": "int"}
        if conf.dedup.exact.enabled:
            columns["dedup"]["_exact_key"] = "binary"
        if conf.dedup.near.enabled:
            columns["dedup"] |= {"_bands": "array<bigint>", "_sketch": "binary"}
    if "tokens" in stages and conf.categories.enabled:
        columns["tokens"] = {URL_CATEGORY: "string"}
    return columns


def pass_columns(stages: Sequence[str], conf: Any) -> dict[str, str]:
    """All columns (name → Spark type) the pass adds or replaces, for the per-document ``stages`` that run."""
    merged: dict[str, str] = {}
    for columns in columns_by_stage(stages, conf).values():
        merged |= columns
    return merged


def arrow_type(kind: str) -> pa.DataType:
    return _ARROW[kind]


def _spread(values: Any, rows: np.ndarray, size: int) -> np.ndarray:
    """``values`` (one per row of ``rows``) placed at ``rows`` of an object array of ``size`` nulls."""
    full = np.full(size, None, dtype=object)
    full[rows] = np.asarray(values, dtype=object) if not isinstance(values, pd.Series) else values.to_numpy(object)
    return full


def score_documents(batch: pd.DataFrame, stages: Sequence[str], conf: Any) -> pd.DataFrame:
    """Every column of :func:`pass_columns` for ``batch`` (columns ``text``, ``url``; same row order).

    Rows an earlier stage drops are not scored by the later ones, and only rows every stage keeps get dedup keys.
    The rules are the pandas forms of the decisions applied after the pass (normalize's empty page,
    ``udfs.langid.langid_reasons``, ``udfs.quality.rules.reasons``), so the rows skipped here are exactly those whose
    columns the sharded pipeline nulls; ``jobs/stages/keys.py`` fails the job if a row the Spark rules keep has none.
    """
    n = len(batch)
    out = pd.DataFrame(index=range(n))
    texts = batch["text"].reset_index(drop=True)
    kept = np.ones(n, dtype=bool)
    if "normalize" in stages:
        from udfs.normalize import normalize_batch

        normalized = normalize_batch(pd.DataFrame({"text": texts}), conf.normalize)
        texts = normalized["text"]
        out["text"], out["zh_script"] = texts, normalized["zh_script"]
        kept &= texts.str.len().to_numpy() > 0  # jobs/stages/normalize.py: empty after clean-up
    langs: pd.Series | None = None
    if "langid" in stages:
        from udfs.langid import detect_languages, langid_reasons

        detected = detect_languages(texts, conf.langid)
        for name in detected.columns:
            out[name] = detected[name]
        langs = detected["lang"]
        kept &= langid_reasons(langs, detected["lang_score"], conf.langid).isna().to_numpy()
    final_texts = texts
    if "quality" in stages and conf.quality.enabled:
        from udfs.quality.rules import reasons, tag_batch

        rows = np.flatnonzero(kept)
        frame = pd.DataFrame({"text": texts.iloc[rows].reset_index(drop=True),
                              "url": batch["url"].iloc[rows].reset_index(drop=True),
                              "lang": (langs.iloc[rows].reset_index(drop=True) if langs is not None
                                       else pd.Series([None] * len(rows), dtype=object))})
        tagged = tag_batch(frame, conf.quality)
        for name in tagged.columns:
            column = tagged[name].to_numpy() if len(rows) == n else _spread(tagged[name], rows, n)
            out[QUALITY_TEXT if name == "text" else name] = column
        final_texts = out[QUALITY_TEXT]
        kept[rows] &= reasons(tagged.drop(columns="text"), frame["lang"], conf.quality).isna().to_numpy()
    if "dedup" in stages:
        rows = np.flatnonzero(kept)
        live_texts = final_texts.iloc[rows].fillna("").reset_index(drop=True)
        out["_text_length"] = _spread(live_texts.str.len(), rows, n)
        if conf.dedup.exact.enabled:
            from udfs.dedup.minhash import exact_keys

            out["_exact_key"] = _spread(exact_keys(live_texts, conf.dedup.exact.text_key), rows, n)
        if conf.dedup.near.enabled:
            from udfs.dedup.minhash import batch_band_hashes

            near = conf.dedup.near
            live_langs = None if langs is None else langs.iloc[rows].reset_index(drop=True)
            result = batch_band_hashes(live_texts, live_langs, near, sketch_size=near.verify_sketch_size)
            bands = np.full(n, None, dtype=object)
            sketches = np.full(n, None, dtype=object)
            for row in np.flatnonzero(result.has_shingles):
                bands[rows[row]] = result.hashes[row]
                sketches[rows[row]] = result.sketches[row]
            out["_bands"], out["_sketch"] = bands, sketches
    return out


def add_scores(columns: dict[str, Any], stages: Sequence[str], conf: Any, kinds: dict[str, str]) -> dict[str, Any]:
    """``columns`` (ingest's lists for one batch) with the pass columns ``kinds`` added or replaced as Arrow arrays.

    Only records that ingest read well (``reason`` null) are scored; the others get nulls and keep their text.
    The URL category is every row's, the others' too (their language is null, as it is in the output).
    """
    n = len(columns["reason"])
    live = np.flatnonzero(np.fromiter((reason is None for reason in columns["reason"]), dtype=bool, count=n))
    scored = None
    if len(live):
        frame = pd.DataFrame({"text": [columns["text"][i] for i in live], "url": [columns["url"][i] for i in live]})
        scored = score_documents(frame, stages, conf)
    if URL_CATEGORY in kinds:
        from udfs.categories import categorize

        langs = pd.Series(_spread(scored["lang"], live, n)) if scored is not None and "lang" in scored else None
        categories = categorize(pd.Series(columns["domain"], dtype=object), pd.Series(columns["url"], dtype=object),
                                langs, conf.categories)
        columns[URL_CATEGORY] = pa.array(categories.tolist(), type=pa.string())
    for name, kind in kinds.items():
        if name == URL_CATEGORY:
            continue
        values = None if scored is None else scored[name]
        if values is not None and name not in columns and (kind == "double" or (
                len(live) == n and values.dtype.kind == "b")):
            # Scores straight from numpy, without boxing every value: a double column's nulls (rows not scored,
            # None in object columns) become NaN here and null below, as in the object path.
            if kind == "double":
                full_values = np.full(n, np.nan)
                full_values[live] = np.asarray(values, dtype=np.float64)
            else:
                full_values = values.to_numpy()
            columns[name] = pa.Array.from_pandas(full_values, type=arrow_type(kind))
            continue
        full = pd.Series(columns[name] if name in columns else [None] * n, dtype=object)
        if values is not None:
            full.iloc[live] = values.to_numpy(dtype=object)
        # pandas null semantics: NaN scores become nulls, as Spark's own pandas → Arrow hand-off makes them.
        columns[name] = pa.Array.from_pandas(full, type=arrow_type(kind))
    return columns


def finalize_columns(stages: Sequence[str], conf: Any) -> dict[str, str]:
    """Columns (name → Spark type) of :func:`finalize_documents` for the stages that run and are enabled."""
    columns: dict[str, str] = {}
    if "pii" in stages and conf.pii.enabled:
        from udfs.pii import COUNT_COLUMNS

        columns |= {"text": "string", **{name: "int" for name in COUNT_COLUMNS.values()}}
    if "tokens" in stages and conf.tokens.enabled:
        columns["n_tokens"] = "bigint"
    if "tokens" in stages and conf.categories.uses_classifier:
        # Replaces the URL-rule columns the finalize pass computed before (jobs/stages/tokens.py).
        columns |= {"category": "string", "category_source": "string", "category_score": "double"}
    return columns


def finalize_documents(batch: pd.DataFrame, stages: Sequence[str], conf: Any) -> pd.DataFrame:
    """The finalize phase's Python work on kept documents (``text``, optional ``lang``, and ``category`` from the
    URL rules when the category classifier runs) in one pass: PII replaced, then tokens counted and categories
    classified on the redacted text — what the ``pii`` and ``tokens`` stages do one after the other."""
    out = pd.DataFrame(index=range(len(batch)))
    texts = batch["text"].reset_index(drop=True)
    langs = batch["lang"].reset_index(drop=True) if "lang" in batch else None
    if "pii" in stages and conf.pii.enabled:
        from udfs.pii import redact_batch

        redacted = redact_batch(texts, langs, conf.pii)
        texts = redacted["text"]
        for name in redacted.columns:
            out[name] = redacted[name]
    if "tokens" in stages and conf.tokens.enabled:
        from udfs.tokens import count_tokens

        out["n_tokens"] = count_tokens(texts, conf.tokens)["n_tokens"]
    if "tokens" in stages and conf.categories.uses_classifier:
        from udfs.categories import classify_documents

        classified = classify_documents(texts, batch["category"], conf.categories)
        for name in classified.columns:
            out[name] = classified[name]
    return out
