"""Source category per document from URL rules: domain lists (with subdomains), TLD suffixes, URL regexes.

Rules are tried in conf order and the first match decides; documents no rule matches get ``fallback``. Each rule
compiles to at most two regexes — one over the lower-cased domain, one over the lower-cased URL — written in the
subset shared by Python ``re``, RE2 (Arrow) and Java regex, so the same rule runs as a Spark column expression in
the stage (``category_column`` in jobs/stages/tokens.py, no Python worker involved) and as the Arrow/pandas
reference here (:func:`categorize`), and tests check that the two agree.

Hook for later: ``classifier_model`` is reserved for a text classifier applied to the documents the rules leave at
``fallback``; it is refused at config time until implemented.
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
    """Reserved: a text classifier for documents left at ``fallback``. Not implemented; must stay null."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> CategoriesConfig:
        from udfs.config import dataclass_from_dict

        return dataclass_from_dict(cls, data, path)

    def validate(self, path: str) -> None:
        if self.fallback not in CATEGORIES:
            raise ConfigError(f"{path}.fallback: unknown category {self.fallback!r} (known: {', '.join(CATEGORIES)})")
        if self.classifier_model is not None:
            raise ConfigError(f"{path}.classifier_model: the classifier hook is not implemented yet; leave it null")
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
