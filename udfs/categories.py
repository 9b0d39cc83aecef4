"""Source category per document from URL rules (domain lists, TLD suffixes, URL regexes), then optionally a text
classifier for the documents the rules leave at ``fallback``.

Rules are tried in conf order and the first match decides; documents no rule matches get ``fallback``. Each rule
compiles to at most two regexes — one over the lower-cased domain, one over the lower-cased URL — written in the
subset shared by Python ``re``, RE2 (Arrow) and Java regex, so the same rule runs as a Spark column expression in
the stage (``category_column`` in jobs/stages/tokens.py, no Python worker involved) and as the Arrow/pandas
reference here (:func:`categorize`), and tests check that the two agree.

With ``classifier_model`` set, a fastText model trained by distant supervision (jobs/train_category_classifier.py:
the URL rules label the training pages) classifies the text of every document still at ``fallback``
(:func:`classify_documents`, in the Python pass that also counts tokens); its best category is taken when it is not
``fallback`` and its probability reaches ``classifier_min_score``. ``category_source`` says which one decided:
``url``, ``classifier`` or ``none``; ``category_score`` is the classifier's probability (null where it did not run).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from udfs.errors import ConfigError

SOURCES: tuple[str, ...] = ("url", "classifier", "none")
"""Values of ``category_source``: a URL rule named the category, the classifier did, or neither (``fallback``)."""
LABEL_PREFIX = "__label__"
"""fastText label prefix: the classifier's labels are ``__label__<category>``, ``fallback`` included."""
CATEGORIES: tuple[str, ...] = (
    "encyclopedia", "news", "qa", "fiction", "legal", "patents", "academic", "blogs", "poetry", "code", "forum",
    "other",
)  # fmt: skip
STARTER_RULES_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "conf", "categories.yaml"
)
_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*$")


@dataclass(frozen=True)
class CategoryRule:
    """One rule of ``categories.rules``: matches when the language condition holds and any matcher hits."""

    category: str
    """Category given to a matching document (one of the category names)."""
    domains: tuple[str, ...] = ()
    """Domains matched with all their subdomains (``wikipedia.org`` matches ``zh.wikipedia.org``)."""
    tlds: tuple[str, ...] = ()
    """Domain suffixes without the leading dot (``edu``, ``edu.cn``)."""
    url_patterns: tuple[str, ...] = ()
    """Regexes searched in the lower-cased URL (Python/RE2/Java common subset: no look-arounds, no inline flags)."""
    langs: tuple[str, ...] = ()
    """Only documents whose ``lang`` is listed; empty means any language."""

    def domain_regex(self) -> str | None:
        """Regex over the lower-cased domain covering ``domains`` (with subdomains) and ``tlds``."""
        parts = [f"(^|\\.)({'|'.join(re.escape(d) for d in self.domains)})$"] if self.domains else []
        if self.tlds:
            parts.append(f"\\.({'|'.join(re.escape(t) for t in self.tlds)})$")
        return "|".join(parts) or None

    def url_regex(self) -> str | None:
        return "|".join(f"({p})" for p in self.url_patterns) or None


@functools.lru_cache(maxsize=1)
def starter_rules() -> tuple[CategoryRule, ...]:
    """The starter rules shipped in conf/categories.yaml (the code default equals the conf file)."""
    if not os.path.exists(STARTER_RULES_PATH):
        return ()
    with open(STARTER_RULES_PATH, encoding="utf-8") as handle:
        data = (yaml.safe_load(handle) or {}).get("categories", {}).get("rules", [])
    from udfs.config import dataclass_from_dict

    return tuple(dataclass_from_dict(CategoryRule, r, f"categories.rules[{i}]") for i, r in enumerate(data))


@dataclass(frozen=True)
class CategoriesConfig:
    """``categories.*`` in conf."""

    enabled: bool = True
    """Compute ``category`` (when false every document gets ``fallback``)."""
    fallback: str = "other"
    """Category of documents no rule matches."""
    rules: tuple[CategoryRule, ...] = field(default_factory=starter_rules)
    """Ordered rules; the first matching rule decides. Default: the starter list in conf/categories.yaml."""
    classifier_model: str | None = None
    """fastText model of jobs/train_category_classifier.py for documents the rules leave at ``fallback`` (local
    path, ``--archives`` folder path or ``--files`` name); null = URL rules only, and no Python work for categories."""
    classifier_min_score: float = 0.5
    """Probability the classifier's best category needs, else the document stays at ``fallback``."""
    classifier_min_scores: dict[str, float] = field(default_factory=dict)
    """Per category, a threshold that replaces ``classifier_min_score`` (raise it where the metrics file shows a low
    held-out precision for that category)."""
    classifier_max_chars: int = 5000
    """Characters of a document the classifier reads (its head); training uses the same value from conf."""

    def min_scores_of(self, categories: np.ndarray) -> np.ndarray:
        """The classifier threshold of each category in ``categories``."""
        return np.array([self.classifier_min_scores.get(c, self.classifier_min_score) for c in categories],
                        dtype=np.float64)

    @property
    def uses_classifier(self) -> bool:
        """The classifier runs (categories on and a model configured)."""
        return self.enabled and self.classifier_model is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> CategoriesConfig:
        from udfs.config import dataclass_from_dict

        return dataclass_from_dict(cls, data, path)

    def validate(self, path: str) -> None:
        if self.fallback not in CATEGORIES:
            raise ConfigError(f"{path}.fallback: unknown category {self.fallback!r} (known: {', '.join(CATEGORIES)})")
        if self.classifier_model is not None and not self.classifier_model:
            raise ConfigError(f"{path}.classifier_model: empty path (null turns the classifier off)")
        if not 0 <= self.classifier_min_score <= 1:
            raise ConfigError(f"{path}.classifier_min_score: must be within [0, 1]")
        for category, score in self.classifier_min_scores.items():
            if category not in CATEGORIES or category == self.fallback:
                raise ConfigError(f"{path}.classifier_min_scores.{category}: not a category the classifier gives")
            if not 0 <= score <= 1:
                raise ConfigError(f"{path}.classifier_min_scores.{category}: must be within [0, 1]")
        if self.classifier_max_chars < 100:
            raise ConfigError(f"{path}.classifier_max_chars: must be >= 100")
        for index, rule in enumerate(self.rules):
            key = f"{path}.rules[{index}]"
            if rule.category not in CATEGORIES:
                raise ConfigError(
                    f"{key}.category: unknown category {rule.category!r} (known: {', '.join(CATEGORIES)})"
                )
            if not (rule.domains or rule.tlds or rule.url_patterns):
                raise ConfigError(f"{key}: needs at least one of domains, tlds, url_patterns")
            for name in (*rule.domains, *rule.tlds):
                if not _DOMAIN.match(name):
                    raise ConfigError(f"{key}: {name!r} is not a lower-case domain (no scheme, path or leading dot)")
            for pattern in rule.url_patterns:
                try:
                    re.compile(pattern)
                    pc.match_substring_regex(pa.array([""]), pattern)  # RE2: refuses look-arounds, backrefs
                except (re.error, pa.ArrowInvalid) as exc:
                    raise ConfigError(f"{key}.url_patterns: invalid regex {pattern!r}: {exc}") from exc
                if pattern.startswith("(?"):
                    raise ConfigError(f"{key}.url_patterns: {pattern!r}: no inline flags (URLs are lower-cased)")


def _matches(values: pa.Array, pattern: str | None) -> np.ndarray:
    if pattern is None:
        return np.zeros(len(values), dtype=bool)
    return pc.fill_null(pc.match_substring_regex(values, pattern), False).to_numpy(zero_copy_only=False)


def categorize(domains: pd.Series, urls: pd.Series, langs: pd.Series | None, conf: CategoriesConfig) -> pd.Series:
    """Category per document (RE2 over whole columns via Arrow): the first matching rule, else ``fallback``."""
    count = len(domains)
    result = np.full(count, conf.fallback, dtype=object)
    if not conf.enabled or not count:
        return pd.Series(result, index=domains.index, dtype=object)
    domain_values = pa.array(domains.fillna("").astype(str).str.lower().tolist(), type=pa.large_string())
    url_values = pa.array(urls.fillna("").astype(str).str.lower().tolist(), type=pa.large_string())
    lang_values = langs.to_numpy(dtype=object) if langs is not None else np.full(count, None, dtype=object)
    undecided = np.ones(count, dtype=bool)
    for rule in conf.rules:
        hit = _matches(domain_values, rule.domain_regex()) | _matches(url_values, rule.url_regex())
        if rule.langs:
            hit &= np.isin(lang_values, list(rule.langs))
        decided = hit & undecided
        result[decided] = rule.category
        undecided &= ~decided
        if not undecided.any():
            break
    return pd.Series(result, index=domains.index, dtype=object)


def category_of(
    url: str, domain: str | None = None, lang: str | None = None, conf: CategoriesConfig | None = None
) -> str:
    """One URL, for tests and examples (``domain`` defaults to the URL's host without ``www.``)."""
    from udfs.warc import domain_of

    conf = conf or CategoriesConfig()
    domain = domain if domain is not None else domain_of(url)
    return categorize(pd.Series([domain]), pd.Series([url]), pd.Series([lang]), conf).iloc[0]


_SECOND_LEVEL = frozenset(("ac", "co", "com", "edu", "gob", "gov", "go", "mil", "ne", "net", "nic", "or", "org"))
"""Second-level labels under which country TLDs register names (example.co.uk, pku.edu.cn, example.com.br)."""


def site_of(domain: str) -> str:
    """The registrable domain of a host, approximately: its last two labels, or three under a country TLD's
    second level (``news.bbc.co.uk`` → ``bbc.co.uk``, ``www.cs.pku.edu.cn`` → ``pku.edu.cn``). What the category
    classifier's training holds out as a whole, so all hosts of one site land on the same side."""
    labels = [label for label in (domain or "").lower().strip(".").split(".") if label]
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def source_of(categories: pd.Series, conf: CategoriesConfig) -> pd.Series:
    """``category_source`` of URL-rule categories: ``url`` when a rule named a category, else ``none``."""
    return pd.Series(np.where(categories.to_numpy(dtype=object) != conf.fallback, "url", "none"),
                     index=categories.index, dtype=object)


def classifier_line(text: str, max_chars: int) -> str:
    """A document as the category classifier reads it (the quality classifier's normalization: lower case, digits
    to 0, Han characters as single tokens, so fastText's whitespace tokenizer also works for Chinese)."""
    from udfs.quality_classifier import classifier_line as normalized_line

    return normalized_line(text or "", max_chars)


def load_classifier(path: str) -> Any:
    from udfs.quality_classifier import load_fasttext

    return load_fasttext(path)


def predict_categories(model: Any, lines: list[str], fallback: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line: (top label, its probability, probability of the best label that is not ``fallback``)."""
    labels, probabilities = model.predict(lines, k=-1)
    top = np.full(len(lines), fallback, dtype=object)
    top_score = np.zeros(len(lines), dtype=np.float64)
    best_category_score = np.zeros(len(lines), dtype=np.float64)
    for i, (row_labels, row_probabilities) in enumerate(zip(labels, probabilities, strict=True)):
        # fastText returns labels by decreasing probability; the softmax may round a little above 1.
        names = [label.removeprefix(LABEL_PREFIX) for label in row_labels]
        if names:
            top[i], top_score[i] = names[0], min(float(row_probabilities[0]), 1.0)
        for name, probability in zip(names, row_probabilities, strict=True):
            if name != fallback:
                best_category_score[i] = min(float(probability), 1.0)
                break
    return top, top_score, best_category_score


def classify_documents(texts: pd.Series, categories: pd.Series, conf: CategoriesConfig) -> pd.DataFrame:
    """``category``, ``category_source`` and ``category_score`` given the URL-rule ``categories`` of a batch.

    Documents the rules categorized keep theirs (source ``url``, no score). The others are classified when a model
    is configured: the classifier's top label is taken when it is a category (not ``fallback``) with a probability
    >= its threshold (``classifier_min_scores``, else ``classifier_min_score``; source ``classifier``); otherwise
    the document stays at ``fallback`` (source ``none``). ``category_score`` of a classified document is the
    probability of its best non-fallback category, taken or not, so the report can show how far below the
    threshold the rest fell.
    """
    from udfs.models import cached_model
    from udfs.perplexity import resolve_model_path

    category = categories.reset_index(drop=True).astype(object).to_numpy(copy=True)
    source = source_of(pd.Series(category), conf).to_numpy(copy=True)
    score = np.full(len(category), np.nan)
    positions = np.flatnonzero(category == conf.fallback)
    if conf.uses_classifier and len(positions):
        assert conf.classifier_model is not None
        model = cached_model("fasttext", resolve_model_path(conf.classifier_model), load_classifier)
        text_values = texts.reset_index(drop=True).to_numpy(dtype=object)
        lines = [classifier_line(text_values[p] or "", conf.classifier_max_chars) for p in positions]
        top, top_score, best_category_score = predict_categories(model, lines, conf.fallback)
        taken = (top != conf.fallback) & np.isin(top, CATEGORIES) & (top_score >= conf.min_scores_of(top))
        category[positions[taken]] = top[taken]
        source[positions[taken]] = "classifier"
        score[positions] = best_category_score
    return pd.DataFrame({"category": category, "category_source": source, "category_score": score})
