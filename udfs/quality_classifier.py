"""GPT-3-style quality classifier over batches: a fastText model scoring P(reference-like) as ``quality_score``.

GPT-3 (Brown et al. 2020, appendix A) trained a logistic-regression classifier on curated reference text (WebText,
Wikipedia, books) as positives against raw Common Crawl as negatives, and kept a document when
``np.random.pareto(α=9) > 1 − score``: mostly high-scoring documents, plus a few low-scoring ones so the kept data
is not narrowed to one style. Here the classifier is a fastText supervised model (``jobs/train_quality_classifier.py``)
over the same normalized tokens as the KenLM models (``udfs.perplexity.normalize_line``: Han characters are single
tokens, so fastText's whitespace tokenizer works for Chinese too).

The keep rule is applied by the stage as a Spark expression: either ``quality_score >= threshold``, or the Pareto
rule with a draw derived from the document id (``xxhash64``), so a rerun keeps exactly the same documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from udfs.errors import ConfigError
from udfs.models import cached_model, rows_per_model
from udfs.perplexity import DEFAULT_NORMALIZATION, Normalization, normalize_line, resolve_model_path

KEEP_RULES = ("threshold", "pareto")
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


def pareto_draws(uniforms: np.ndarray, alpha: float) -> np.ndarray:
    """``np.random.pareto(alpha)`` by inverse transform of uniforms in [0, 1): ``(1 − u) ** (−1/alpha) − 1``."""
    return (1.0 - uniforms) ** (-1.0 / alpha) - 1.0


def keep_mask(scores: np.ndarray, uniforms: np.ndarray, conf: QualityClassifierConfig) -> np.ndarray:
    """The pandas reference of the stage's keep rule; unscored documents (NaN) are kept."""
    unscored = np.isnan(scores)
    if conf.keep_rule == "threshold":
        kept = scores >= conf.threshold
    else:
        kept = pareto_draws(uniforms, conf.pareto_alpha) > 1.0 - scores
    return kept | unscored
