"""KenLM perplexity over batches, CCNet style: the text normalization and tokenization shared by training and scoring.

What the model sees (``normalize_for_lm``, used by ``jobs/train_kenlm.py`` on the reference corpus and here on every
document, so both sides always agree):

- lower-cased, accents removed (NFD, combining marks dropped), every digit folded to ``0``, Unicode punctuation
  mapped to its ASCII look-alike (``，`` → ``,``, ``“`` → ``"``), control characters dropped — CCNet's
  ``text_normalizer.normalize``;
- tokens separated by single spaces: in space-separated scripts a word is a run of letters/digits and each
  punctuation mark is its own token; every Han character is its own token.

Why characters for Chinese: Chinese has no spaces, and a word segmenter (jieba, pkuseg) is a second model whose
dictionary and errors would have to be identical at training and scoring time and whose segmentation of web
text drifts from that of clean reference text, inflating exactly the perplexities we compare. Han characters are
a closed vocabulary of a few thousand symbols, so even a small reference corpus covers them (few unknown tokens),
and a 5-gram over characters spans two to three words — about the context a word 3-gram has. CCNet's SentencePiece
models end up with mostly one- and two-character pieces for Chinese too. SentencePiece is not used here: it would
be a second model to train and ship with each LM for little gain on the word-level LMs we train.

Perplexity follows CCNet: each paragraph (line) is one KenLM sentence (``<s> … </s>``); a paragraph of ``n`` tokens
counts ``n + 1`` predictions; the document's perplexity is ``10 ** (-Σ log10 p / Σ (n + 1))`` over its paragraphs.
Documents of a language without a model are not scored (null perplexity) and not dropped.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import sys
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from udfs.errors import ConfigError
from udfs.models import cached_model, rows_per_model
from udfs.scripts import HAN

BUCKETS = ("head", "middle", "tail")
REASON_MAX = "perplexity:max"
"""Above the language's ``max_perplexity``."""


def bucket_reason(bucket: str) -> str:
    """The drop reason of a bucket not in ``keep_buckets``: ``perplexity:bucket_<name>``."""
    return f"perplexity:bucket_{bucket}"

# CCNet's unicode punctuation table (the same mapping idea: full-width and typographic marks → ASCII).
_PUNCTUATION = {
    "，": ",", "。": ".", "、": ",", "„": '"', "”": '"', "“": '"', "«": '"', "»": '"', "１": '"', "」": '"',
    "「": '"', "《": '"', "》": '"', "´": "'", "∶": ":", "：": ":", "？": "?", "！": "!", "（": "(", "）": ")",
    "；": ";", "–": "-", "—": " - ", "．": ". ", "～": "~", "’": "'", "…": "...", "━": "-", "〈": "<", "〉": ">",
    "【": "[", "】": "]", "％": "%", "►": "-", "‘": "'", "·": ".",
}  # fmt: skip
_PUNCTUATION_RE = re.compile("|".join(re.escape(k) for k in _PUNCTUATION))
_NON_PRINTING = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_DIGIT = re.compile(r"\d")
# A token: one Han character, or a run of other letters/digits, or one punctuation/symbol character.
_TOKEN = re.compile(f"[{HAN}]|[^\\W{HAN}]+|[^\\w\\s]", re.UNICODE)


@dataclass(frozen=True)
class Normalization:
    """How text is prepared for a KenLM model; written next to each model as ``<model>.json`` by the training job."""

    lower_case: bool = True
    remove_accents: bool = True
    digits_to_zero: bool = True
    normalize_punctuation: bool = True
    han_characters: bool = True
    """Each Han character is a token (see the module docstring)."""

    @classmethod
    def from_json(cls, path: str) -> Normalization:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.get("normalization", data).items() if k in known})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_NORMALIZATION = Normalization()


@functools.cache
def _combining_marks() -> dict[int, None]:
    """A ``str.translate`` table deleting every nonspacing mark (category Mn); built once per process (~0.3 s)."""
    return {cp: None for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Mn"}


def _strip_accents(line: str) -> str:
    if line.isascii():  # nothing to decompose: the common case for English, and 5x faster to skip
        return line
    decomposed = unicodedata.normalize("NFD", line).translate(_combining_marks())
    return unicodedata.normalize("NFC", decomposed)


def normalize_line(line: str, settings: Normalization = DEFAULT_NORMALIZATION) -> str:
    """One paragraph as the LM sees it: normalized (module docstring) and tokenized, tokens joined by one space."""
    if settings.lower_case:
        line = line.lower()
    if settings.remove_accents:
        line = _strip_accents(line)
    if settings.digits_to_zero:
        line = _DIGIT.sub("0", line)
    if settings.normalize_punctuation:
        line = _PUNCTUATION_RE.sub(lambda m: _PUNCTUATION[m.group()], line)
    line = _NON_PRINTING.sub("", line)
    if settings.han_characters:
        return " ".join(_TOKEN.findall(line))
    return " ".join(re.findall(r"\w+|[^\w\s]", line))


def normalize_for_lm(text: str, settings: Normalization = DEFAULT_NORMALIZATION) -> list[str]:
    """The document's non-empty paragraphs, each normalized and tokenized (the KenLM training lines)."""
    lines = (normalize_line(p, settings) for p in (text or "").split("\n"))
    return [line for line in lines if line]


@dataclass(frozen=True)
class PerplexityConfig:
    """``perplexity.*`` in conf."""

    enabled: bool = False
    """Score documents with a KenLM model for their language (``perplexity``, ``perplexity_bucket`` columns)."""
    models: dict[str, str] = field(default_factory=dict)
    """Language → KenLM model (``.binary`` from jobs/train_kenlm.py, or ARPA). A local path, a path inside an
    ``--archives`` folder (``models/en.binary``) or the file name of a ``--files`` upload (found via SparkFiles).
    Documents of languages not listed are not scored and not dropped."""
    percentiles: tuple[float, float] = (30.0, 60.0)
    """Per-language perplexity percentiles splitting head | middle | tail (CCNet: 30 and 60)."""
    cutoffs: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Fixed per-language cut-offs ``[head_max, middle_max]``; languages not listed get theirs from the data of the
    run (``percentile_approx`` at ``percentiles``, per language)."""
    max_perplexity: dict[str, float] = field(default_factory=dict)
    """Absolute per-language maximum (``default`` for languages not listed); above it: ``perplexity:max``. Empty:
    no absolute limit."""
    keep_buckets: tuple[str, ...] = ("head", "middle")
    """Buckets kept; the others are dropped as ``perplexity:bucket_<name>``. RedPajama-1T kept head and middle."""
    min_documents_for_cutoffs: int = 100
    """A language needs this many live scored documents in the run for cut-offs from the data; below it (and without
    fixed ``cutoffs``) its documents get no bucket and are not dropped by bucket — percentiles of a handful of pages
    would send a fixed share of them to the tail whatever their quality."""
    percentile_accuracy: int = 10000
    """``percentile_approx`` accuracy (relative error ~ 1/accuracy)."""
    paragraph_perplexities: bool = False
    """Also keep ``paragraph_perplexities`` (one value per non-empty paragraph), CCNet's per-line scores."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> PerplexityConfig:
        from udfs.config import dataclass_from_dict

        return dataclass_from_dict(cls, data, path)

    def validate(self, path: str) -> None:
        low, high = self.percentiles
        if not 0 < low < high < 100:
            raise ConfigError(f"{path}.percentiles: expected two increasing values within (0, 100), got {low}, {high}")
        for lang, bounds in self.cutoffs.items():
            if len(bounds) != 2 or not 0 < bounds[0] <= bounds[1]:
                raise ConfigError(f"{path}.cutoffs.{lang}: expected [head_max, middle_max], increasing, > 0")
        for lang, value in self.max_perplexity.items():
            if value <= 0:
                raise ConfigError(f"{path}.max_perplexity.{lang}: must be > 0")
        for bucket in self.keep_buckets:
            if bucket not in BUCKETS:
                raise ConfigError(f"{path}.keep_buckets: unknown bucket {bucket!r} (buckets: {', '.join(BUCKETS)})")
        for lang, model in self.models.items():
            if not model:
                raise ConfigError(f"{path}.models.{lang}: empty path")
        if self.enabled and not self.models:
            raise ConfigError(f"{path}.models: enabled without any model (give models: {{en: path/to/en.binary}})")
        if self.min_documents_for_cutoffs < 1:
            raise ConfigError(f"{path}.min_documents_for_cutoffs: must be >= 1")
        if self.percentile_accuracy < 100:
            raise ConfigError(f"{path}.percentile_accuracy: must be >= 100")


def resolve_model_path(path: str) -> str:
    """Where ``path`` is on this machine: as given, else the file of that name shipped with ``--files``."""
    if os.path.exists(path):
        return path
    try:
        from pyspark import SparkFiles

        shipped = SparkFiles.get(os.path.basename(path))
        if os.path.exists(shipped):
            return shipped
    except Exception:  # no SparkContext/SparkFiles root here
        pass
    raise FileNotFoundError(
        f"model not found: {path} (ship it with spark-submit --files {path} or --archives models.tar.gz#models)"
    )


def load_kenlm(path: str) -> Any:
    """A KenLM model, memory-mapped (LAZY) so the OS page cache is shared by every Python worker of a machine."""
    import kenlm

    config = kenlm.Config()
    config.load_method = kenlm.LoadMethod.LAZY  # mmap of a .binary; ARPA files are always read into memory
    return kenlm.Model(path, config)


def model_normalization(model_path: str) -> Normalization:
    """The normalization the model was trained with (``<model minus suffix>.json``), else the defaults."""
    sidecar = os.path.splitext(model_path)[0] + ".json"
    return Normalization.from_json(sidecar) if os.path.exists(sidecar) else Normalization()


class _ScoringModel:
    def __init__(self, path: str) -> None:
        self.model = load_kenlm(path)
        self.normalization = model_normalization(path)


def paragraph_scores(model: Any, paragraphs: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """log10 probability and prediction count (tokens + ``</s>``) of each normalized paragraph."""
    log10 = np.fromiter((model.score(p, bos=True, eos=True) for p in paragraphs), dtype=np.float64,
                        count=len(paragraphs))
    counts = np.fromiter((p.count(" ") + 2 for p in paragraphs), dtype=np.int64, count=len(paragraphs))
    return log10, counts


def document_perplexity(model: Any, text: str, settings: Normalization = DEFAULT_NORMALIZATION) -> float | None:
    """CCNet's document perplexity; None for a document without tokens."""
    paragraphs = normalize_for_lm(text, settings)
    if not paragraphs:
        return None
    log10, counts = paragraph_scores(model, paragraphs)
    return float(10.0 ** (-log10.sum() / counts.sum()))


def score_documents(texts: pd.Series, langs: pd.Series, conf: PerplexityConfig) -> pd.DataFrame:
    """``perplexity`` (and ``paragraph_perplexities`` when configured) for each document; null without a model."""
    perplexities = np.full(len(texts), np.nan)
    per_paragraph: list[list[float] | None] = [None] * len(texts)
    text_values = texts.to_numpy()
    for _, model_path, positions in rows_per_model(langs, conf.models):
        scorer = cached_model("kenlm", resolve_model_path(model_path), _ScoringModel)
        for position in positions:
            paragraphs = normalize_for_lm(text_values[position] or "", scorer.normalization)
            if not paragraphs:
                continue
            log10, counts = paragraph_scores(scorer.model, paragraphs)
            perplexities[position] = 10.0 ** (-log10.sum() / counts.sum())
            if conf.paragraph_perplexities:
                per_paragraph[position] = (10.0 ** (-log10 / counts)).tolist()
    out = pd.DataFrame({"perplexity": pd.Series(perplexities).where(~np.isnan(perplexities), None)})
    if conf.paragraph_perplexities:
        out["paragraph_perplexities"] = per_paragraph
    return out


def bucket_of(perplexity: float | None, cutoffs: tuple[float, float] | None) -> str | None:
    """CCNet bucket of one score: head below the first cut-off, middle below the second, tail otherwise."""
    if perplexity is None or cutoffs is None or math.isnan(perplexity):
        return None
    if perplexity < cutoffs[0]:
        return "head"
    return "middle" if perplexity < cutoffs[1] else "tail"


def max_perplexity_limits(conf: PerplexityConfig) -> tuple[dict[str, float], float]:
    """(per-language ceilings, the ceiling of any other language: ``default``, else none = infinity)."""
    limits = {k: v for k, v in conf.max_perplexity.items() if k != "default"}
    return limits, conf.max_perplexity.get("default", math.inf)


def drop_conditions(perplexity: Any, bucket: Any, limit: Any, conf: PerplexityConfig) -> list[tuple[Any, str]]:
    """(drop?, reason) in order — the ceiling, then each bucket not kept — once, for numpy arrays and Spark columns
    alike (operators only). ``limit`` is each document's ceiling (:func:`max_perplexity_limits`). A null/NaN
    perplexity or bucket compares false (numpy) or null (Spark): an unscored document is never dropped."""
    conditions: list[tuple[Any, str]] = []
    if conf.max_perplexity:
        conditions.append((perplexity > limit, REASON_MAX))
    for name in BUCKETS:
        if name not in conf.keep_buckets:
            conditions.append((bucket == name, bucket_reason(name)))
    return conditions


def perplexity_reasons(
    perplexities: np.ndarray, buckets: np.ndarray, langs: list[str | None], conf: PerplexityConfig
) -> list[str | None]:
    """The first drop reason per document (None: kept), evaluating :func:`drop_conditions` with numpy."""
    limits, default = max_perplexity_limits(conf)
    limit = np.array([limits.get(lang or "", default) for lang in langs], dtype=np.float64)
    values = np.array([math.nan if p is None else p for p in perplexities], dtype=np.float64)
    names = np.asarray(buckets, dtype=object)
    reasons: list[str | None] = [None] * len(values)
    for condition, reason in reversed(drop_conditions(values, names, limit, conf)):
        for i in np.flatnonzero(np.asarray(condition, dtype=bool)):
            reasons[i] = reason
    return reasons


def perplexity_reason(
    perplexity: float | None, bucket: str | None, lang: str | None, conf: PerplexityConfig
) -> str | None:
    """:func:`perplexity_reasons` of one document."""
    return perplexity_reasons(np.array([perplexity], dtype=object), np.array([bucket], dtype=object), [lang], conf)[0]
