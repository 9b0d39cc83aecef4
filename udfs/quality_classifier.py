"""GPT-3-style quality classifier over batches: a fastText model scoring P(reference-like) as ``quality_score``.

GPT-3 (Brown et al. 2020, appendix A) trained a logistic-regression classifier on curated reference text (WebText,
Wikipedia, books) as positives against raw Common Crawl as negatives, and kept a document when
``np.random.pareto(α=9) > 1 − score``: mostly high-scoring documents, plus a few low-scoring ones so the kept data
is not narrowed to one style. Here the classifier is a fastText supervised model (``jobs/train_quality_classifier.py``)
over the same normalized tokens as the KenLM models (``udfs.perplexity.normalize_line``: Han characters are single
tokens, so fastText's whitespace tokenizer works for Chinese too).

The keep rule has one definition, :func:`drop_condition`, written with operators only so that the stage evaluates it
over Spark columns and :func:`keep_mask` over numpy arrays: either ``quality_score >= threshold``, or the Pareto rule
with a draw derived from the document id (``xxhash64(seed, id)``, :func:`id_uniforms` in Python), so a rerun keeps
exactly the same documents.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from udfs.errors import ConfigError
from udfs.models import cached_model, rows_per_model
from udfs.perplexity import DEFAULT_NORMALIZATION, Normalization, normalize_line, resolve_model_path

KEEP_RULES = ("threshold", "pareto")
REASON_LOW_SCORE = "quality_classifier:low_score"
"""Dropped by ``keep_rule: threshold``."""
REASON_PARETO = "quality_classifier:pareto"
"""Dropped by ``keep_rule: pareto`` (GPT-3's rule)."""
UNIFORM_BITS = 53
"""The id hash is reduced to a uniform in [0, 1) on this many bits (a double's mantissa)."""
_SPARK_HASH_SEED = 42  # Spark's xxhash64() starts from seed 42 and chains each argument's hash as the next seed
POSITIVE_LABEL = "__label__hq"
"""fastText label of reference (high-quality) text; Common Crawl negatives are ``__label__cc``."""
NEGATIVE_LABEL = "__label__cc"


@dataclass(frozen=True)
class QualityClassifierConfig:
    """``quality_classifier.*`` in conf."""

    enabled: bool = False
    """Score documents with a fastText quality classifier for their language (``quality_score`` column)."""
    models: dict[str, str] = field(default_factory=dict)
    """Language → fastText ``.bin``/``.ftz`` from jobs/train_quality_classifier.py (local path, ``--archives``
    folder path or ``--files`` name). Documents of languages not listed are not scored and not dropped."""
    keep_rule: str = "pareto"
    """``pareto`` (GPT-3: keep if pareto(alpha) > 1 − score) or ``threshold`` (keep if score >= threshold)."""
    threshold: float = 0.5
    """Minimum ``quality_score`` for ``keep_rule: threshold``."""
    pareto_alpha: float = 9.0
    """Shape of the Pareto draw (GPT-3: 9)."""
    seed: int = 42
    """Seed mixed with each document id for its Pareto draw: the same seed and ids keep the same documents."""
    max_chars: int = 20000
    """Characters of a document given to the model (the head of a long page decides)."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> QualityClassifierConfig:
        from udfs.config import dataclass_from_dict

        return dataclass_from_dict(cls, data, path)

    def validate(self, path: str) -> None:
        if self.keep_rule not in KEEP_RULES:
            raise ConfigError(f"{path}.keep_rule: expected one of {', '.join(KEEP_RULES)}, got {self.keep_rule!r}")
        if not 0 <= self.threshold <= 1:
            raise ConfigError(f"{path}.threshold: must be within [0, 1]")
        if self.pareto_alpha <= 0:
            raise ConfigError(f"{path}.pareto_alpha: must be > 0")
        if self.max_chars < 100:
            raise ConfigError(f"{path}.max_chars: must be >= 100")
        for lang, model in self.models.items():
            if not model:
                raise ConfigError(f"{path}.models.{lang}: empty path")
        if self.enabled and not self.models:
            raise ConfigError(f"{path}.models: enabled without any model (give models: {{en: path/to/en.bin}})")


def classifier_line(text: str, max_chars: int, settings: Normalization = DEFAULT_NORMALIZATION) -> str:
    """A document as one fastText line: the LM normalization of its paragraphs, joined by spaces."""
    return " ".join(p for p in (normalize_line(line, settings) for line in (text or "")[:max_chars].split("\n")) if p)


def load_fasttext(path: str) -> Any:
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load-time deprecation warning
    return fasttext.load_model(path)


def positive_probability(model: Any, lines: list[str]) -> np.ndarray:
    """P(``__label__hq``) for each line (fastText's softmax over its two labels)."""
    labels, probabilities = model.predict(lines, k=-1)
    scores = np.zeros(len(lines), dtype=np.float64)
    for i, (row_labels, row_probabilities) in enumerate(zip(labels, probabilities, strict=True)):
        for label, probability in zip(row_labels, row_probabilities, strict=True):
            if label == POSITIVE_LABEL:
                scores[i] = min(float(probability), 1.0)
    return scores


def score_documents(texts: pd.Series, langs: pd.Series, conf: QualityClassifierConfig) -> pd.DataFrame:
    """``quality_score`` for each document with a model for its language, else null."""
    scores = np.full(len(texts), np.nan)
    text_values = texts.to_numpy()
    for _, model_path, positions in rows_per_model(langs, conf.models):
        model = cached_model("fasttext", resolve_model_path(model_path), load_fasttext)
        lines = [classifier_line(text_values[p] or "", conf.max_chars) for p in positions]
        scores[positions] = positive_probability(model, lines)
    return pd.DataFrame({"quality_score": scores})


def pareto_draws(uniforms: Any, alpha: float) -> Any:
    """``np.random.pareto(alpha)`` by inverse transform of uniforms in [0, 1): ``(1 − u) ** (−1/alpha) − 1`` (numpy
    arrays or Spark columns)."""
    return (1.0 - uniforms) ** (-1.0 / alpha) - 1.0


def drop_condition(score: Any, uniform: Any, conf: QualityClassifierConfig) -> tuple[Any, str]:
    """(drop?, reason) — the keep rule, once, for numpy arrays and Spark columns alike (operators only).

    ``score == score`` is false for NaN (numpy) and null for null (Spark): an unscored document is never dropped.
    """
    scored = score == score  # a NaN/null test that numpy arrays and Spark columns both understand
    if conf.keep_rule == "threshold":
        return scored & (score < conf.threshold), REASON_LOW_SCORE
    return scored & ~(pareto_draws(uniform, conf.pareto_alpha) > 1.0 - score), REASON_PARETO


def keep_mask(scores: np.ndarray, uniforms: np.ndarray, conf: QualityClassifierConfig) -> np.ndarray:
    """Which documents the keep rule keeps (numpy form of :func:`drop_condition`); unscored (NaN) ones are."""
    drop, _ = drop_condition(np.asarray(scores, dtype=np.float64), np.asarray(uniforms, dtype=np.float64), conf)
    return ~np.asarray(drop, dtype=bool)


def id_uniforms(ids: Iterable[str], seed: int) -> np.ndarray:
    """Each document's uniform in [0, 1): Spark's ``pmod(xxhash64(seed, id), 2**53) / 2**53``, computed in Python
    (Spark hashes an int as its 4 little-endian bytes and a string as its UTF-8 bytes, chaining the seeds)."""
    import xxhash

    seeded = xxhash.xxh64_intdigest(struct.pack("<i", seed), seed=_SPARK_HASH_SEED)
    scale = float(2**UNIFORM_BITS)
    values = []
    for doc_id in ids:
        unsigned = xxhash.xxh64_intdigest(doc_id.encode("utf-8"), seed=seeded)
        signed = unsigned - 2**64 if unsigned >= 2**63 else unsigned
        values.append(float(signed % 2**UNIFORM_BITS) / scale)  # Python's % is Spark's pmod for a positive modulus
    return np.array(values, dtype=np.float64)
