"""``quality.*`` in conf: the rule registry. Every filter family is a section; every rule is one entry of its
``rules:`` mapping, which holds the rule's default threshold(s), the score column, the function computing it, the
languages it applies to and its source. The reason a document is dropped with is ``<reason_prefix>:<rule name>``.

conf/quality.yaml is the only place defaults live: ``QualityConfig.from_dict`` lays the caller's mapping over the
bundled file (and ``QualityConfig()`` is the bundled file alone), so code never restates a threshold.

A rule entry (``quality.<family>.rules.<name>``)::

    score: column name the function writes (double; boolean for flag rules)
    scorer: "module:function" (default: the family's ``scorer``), called once per batch as
            ``function(documents, family_conf, rows)`` → ``{column: array}`` (see :mod:`udfs.quality.rules`)
    min_<x>: drop when the score is below it · max_<x>: drop when above (null: no bound)
    drop_<x>: true/false, for flag rules (drop when the score is true and the switch is on)
    within: [low, high] the thresholds must lie in (e.g. [0, 1] for shares); every threshold is >= 0 anyway
    languages: [ja] the rule applies to (default: the family's ``apply_to``; empty: every language)
    source: where the threshold comes from (a paper, a peer pipeline, or "ours: <measurement>")
    reason: the drop reason when it is not ``<reason_prefix>:<name>`` (``{lang}`` = the document's language)

A rule's threshold is overridden by its flat name in the family (``quality.gopher_quality.min_words: 40``) and per
language under ``languages`` (``gopher_quality.languages.ja.min_mean_word_length: null`` switches the rule off
for Japanese).
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

from udfs.errors import ConfigError

Overrides = dict[str, dict[str, float | None]]
_RULE_KEYS = ("score", "scorer", "within", "languages", "source", "reason")
UNKNOWN_LANGUAGE = "unknown"
"""What ``{lang}`` in a reason becomes for a document without a language."""


@dataclass(frozen=True)
class Rule:
    """One registry entry: drop when ``score`` < ``low`` or > ``high`` (per-language thresholds), or, for flag
    rules, when ``score`` is true and the family's ``switch`` setting is on."""

    family: str
    name: str
    reason: str
    """``gopher_quality:word_count``; ``{lang}`` stands for the document's language (``badwords:{lang}``)."""
    score: str
    scorer: str
    low: str | None = None
    high: str | None = None
    switch: str | None = None
    languages: tuple[str, ...] = ()
    """Languages the rule applies to (empty: all); elsewhere its score is null and it never drops."""
    source: str = ""

    @property
    def is_flag(self) -> bool:
        return self.low is None and self.high is None

    def reason_for(self, lang: str | None) -> str:
        return self.reason.replace("{lang}", lang if isinstance(lang, str) and lang else UNKNOWN_LANGUAGE)


def _coerce(value: Any, kind: Any, key: str) -> Any:
    from udfs.config import _coerce as coerce

    return coerce(value, kind, key)


def _parse_rule(family: str, name: str, entry: Any, defaults: Mapping[str, Any], path: str) -> tuple[Rule, dict]:
    """(the rule, its threshold/switch settings with their defaults) from one ``rules:`` entry."""
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{path}: expected a mapping (score, min_*/max_*/drop_*, languages, source)")
    settings: dict[str, Any] = {}
    low = high = switch = None
    for key, value in entry.items():
        key_path = f"{path}.{key}"
        if key in _RULE_KEYS:
            continue
        if key.startswith("min_") or key.startswith("max_"):
            if (low if key.startswith("min_") else high) is not None:
                raise ConfigError(f"{key_path}: a rule has one lower and one upper bound")
            settings[key] = _coerce(value, float | None, key_path)
            low, high = (key, high) if key.startswith("min_") else (low, key)
        elif key.startswith("drop_"):
            if switch is not None:
                raise ConfigError(f"{key_path}: a rule has one drop_* switch")
            settings[key], switch = _coerce(value, bool, key_path), key
        else:
            raise ConfigError(
                f"{key_path}: unknown key (a rule has {', '.join(_RULE_KEYS)}, min_*/max_* thresholds or a drop_* "
                "switch)"
            )
    if (low or high) and switch:
        raise ConfigError(f"{path}: a rule is a threshold (min_*/max_*) or a flag (drop_*), not both")
    score = entry.get("score")
    if not isinstance(score, str) or not score:
        raise ConfigError(f"{path}.score: the score column is required")
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"{path}.source: say where the threshold comes from (a paper, a peer, or 'ours: ...')")
    scorer = _coerce(entry.get("scorer", defaults.get("scorer", "")), str, f"{path}.scorer")
    resolve_scorer(scorer, f"{path}.scorer")
    languages = _coerce(entry.get("languages", defaults.get("apply_to", ())), tuple[str, ...], f"{path}.languages")
    prefix = defaults.get("reason_prefix") or family
    reason = _coerce(entry.get("reason", f"{prefix}:{name}"), str, f"{path}.reason")
    if "within" in entry:
        bounds = _coerce(entry["within"], tuple[float, ...], f"{path}.within")
        if len(bounds) != 2 or bounds[0] > bounds[1]:
            raise ConfigError(f"{path}.within: expected [low, high]")
        for key in (low, high):
            _check_within(settings.get(key) if key else None, bounds, f"{path}.{key}")
    rule = Rule(family, name, reason, score, scorer, low, high, switch, languages, source.strip())
    return rule, settings


def _check_within(value: float | None, bounds: tuple[float, ...] | None, key: str) -> None:
    if value is not None and bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise ConfigError(f"{key}: must be within [{bounds[0]:g}, {bounds[1]:g}], got {value:g}")


@cache
def _scorer_function(spec: str) -> Callable[..., dict[str, Any]]:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


def resolve_scorer(spec: str, key: str = "scorer") -> Callable[..., dict[str, Any]]:
    """The scoring function ``module:function`` names (imported once per worker)."""
    module, sep, name = spec.partition(":")
    if not sep or not module or not name:
        raise ConfigError(f"{key}: expected 'module:function', got {spec!r}")
    try:
        return _scorer_function(spec)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"{key}: cannot import {spec!r}: {exc}") from None


@dataclass(frozen=True, kw_only=True)
class RuleFamily:
    """A filter family: a switch, per-language overrides, its rules and their thresholds. A family without settings
    of its own (``japanese``) needs no Python class: conf alone declares it."""

    enabled: bool = True
    """Run the family's rules."""
    reason_prefix: str = ""
    """Reasons are ``<reason_prefix>:<rule>`` (default: the family name)."""
    scorer: str = ""
    """Default ``module:function`` of the family's rules."""
    apply_to: tuple[str, ...] = ()
    """Default languages of the family's rules (empty: every language)."""
    languages: Overrides = field(default_factory=dict)
    """Per-language overrides of the thresholds (and of the settings named in ``PER_LANGUAGE``)."""
    rules: dict[str, Rule] = field(default_factory=dict)
    """The family's rules, in the order they are checked."""
    thresholds: dict[str, Any] = field(default_factory=dict)
    """Threshold and switch settings of the rules (``min_words: 50.0``, ``drop_lorem_ipsum: True``)."""

    PER_LANGUAGE: ClassVar[tuple[str, ...]] = ()
    """Numeric settings of the family (not thresholds) that ``languages`` may override."""

    def __getattr__(self, name: str) -> Any:
        thresholds = self.__dict__.get("thresholds")
        if thresholds is not None and name in thresholds:
            return thresholds[name]
        raise AttributeError(name)

    def value(self, name: str, lang: str | None) -> Any:
        """The setting ``name`` for ``lang``, with the language's override applied (None: off for it)."""
        override = self.languages.get(lang or "", {})
        if name in override:
            return override[name]
        return self.thresholds[name] if name in self.thresholds else getattr(self, name)

    def overrides_of(self, name: str) -> dict[str, float | None]:
        """``{lang: value}`` for the languages overriding ``name``."""
        return {lang: values[name] for lang, values in self.languages.items() if name in values}

    def validate(self, path: str) -> None:
        """Settings of the family's own class; thresholds are checked when read (:meth:`build`)."""

    @classmethod
    def build(cls, family: str, data: Mapping[str, Any], path: str) -> RuleFamily:
        """The family from its merged conf mapping; a bad key or value raises ConfigError naming it."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {data!r}")
        data = dict(data)
        hints = typing.get_type_hints(cls)
        own = {f.name for f in dataclasses.fields(cls)} - {"rules", "thresholds"}
        defaults = {
            name: data.get(name, getattr(cls, name, "")) for name in ("scorer", "apply_to", "reason_prefix")
        }
        raw_rules = data.pop("rules", None) or {}
        if not isinstance(raw_rules, Mapping):
            raise ConfigError(f"{path}.rules: expected a mapping of rule name → entry")
        rules: dict[str, Rule] = {}
        thresholds: dict[str, Any] = {}
        ranges: dict[str, tuple[float, ...]] = {}
        for name, entry in raw_rules.items():
            rule, settings = _parse_rule(family, str(name), entry, defaults, f"{path}.rules.{name}")
            clash = sorted(set(settings) & set(thresholds))
            if clash:
                raise ConfigError(f"{path}.rules.{name}.{clash[0]}: already a setting of another rule")
            rules[str(name)], thresholds = rule, thresholds | settings
            if isinstance(entry, Mapping) and "within" in entry:
                ranges |= {key: tuple(entry["within"]) for key in settings if not key.startswith("drop_")}
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in thresholds:  # flat override of a rule's default: quality.<family>.<threshold>
                kind = bool if key.startswith("drop_") else float | None
                thresholds[key] = _coerce(value, kind, f"{path}.{key}")
                _check_within(thresholds[key] if kind is not bool else None, ranges.get(key), f"{path}.{key}")
            elif key in own:
                values[key] = _coerce(value, hints[key], f"{path}.{key}")
            else:
                known = sorted(own | set(thresholds) | {"rules"})
                raise ConfigError(f"{path}.{key}: unknown key (known: {', '.join(known)})")
        numeric = {k for k in thresholds if not k.startswith("drop_")} | set(cls.PER_LANGUAGE)
        for lang, overrides in values.get("languages", {}).items():
            for key, value in overrides.items():
                if key not in numeric:
                    raise ConfigError(
                        f"{path}.languages.{lang}.{key}: not a numeric setting of this filter "
                        f"(known: {', '.join(sorted(numeric))})"
                    )
                _check_within(value, ranges.get(key), f"{path}.languages.{lang}.{key}")
        try:
            instance = cls(**values, rules=rules, thresholds=thresholds)
        except TypeError as exc:  # a setting of the family's class missing from the bundled conf
            raise ConfigError(f"{path}: {exc}") from None
        instance.validate(path)
        return instance


@dataclass(frozen=True, kw_only=True)
class UrlConfig(RuleFamily):
    blocklist_files: tuple[str, ...]
    """Extra block-list files (same format as ``udfs/quality/data/url_blocklist.txt``)."""
    use_bundled_list: bool
    """Use the starter list shipped in ``udfs/quality/data/url_blocklist.txt``."""
    blocked_domains: tuple[str, ...]
    """More blocked hosts (a host blocks its sub-domains too) → ``url:blocklist``."""
    banned_words: tuple[str, ...]
    """More whole-token URL words (URL split on non-alphanumerics) → ``url:substring``."""

    def validate(self, path: str) -> None:
        from udfs.quality.lists import url_blocklist

        for i, name in enumerate(self.blocklist_files):
            try:
                url_blocklist((name,))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{path}.blocklist_files[{i}]: {exc}") from exc


@dataclass(frozen=True, kw_only=True)
class ChineseConfig(RuleFamily):
    remove_ad_lines: bool
    """Remove ad/spam lines from pages in ``apply_to`` (the count is ``zh_ad_lines_removed``)."""
    ad_words: tuple[str, ...]
    """Words that make a line an ad on their own (lottery/casino jargon, sex-drug slang, fake documents)."""
    topic_words: tuple[str, ...]
    """Words that also occur in news prose: an ad only in a line that also has a ``selling_words`` word."""
    selling_words: tuple[str, ...]
    """Contact, price, sign-up and download words."""
    contact_patterns: tuple[str, ...]
    """Regexes of QQ/WeChat contact solicitations (an ad line on their own)."""
    stuffing_max_line_chars: int
    """Keyword stuffing: only lines up to this long are examined."""
    stuffing_min_segments: int
    """... with at least this many segments (between spaces, commas, 、, |, /) ..."""
    stuffing_max_mean_segment_chars: float
    """... of at most this many characters on average ..."""
    stuffing_min_shared_share: float
    """... this share of which share one Han 2-gram."""

    def validate(self, path: str) -> None:
        if not 0 <= self.stuffing_min_shared_share <= 1:
            raise ConfigError(f"{path}.stuffing_min_shared_share: must be within [0, 1]")
        import re

        for i, pattern in enumerate(self.contact_patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"{path}.contact_patterns[{i}]: not a regex: {exc}") from None


@dataclass(frozen=True, kw_only=True)
class C4Config(RuleFamily):
    remove_no_terminal_punct: bool
    """Remove lines not ending in terminal punctuation (C4). FineWeb runs C4 with this off."""
    min_words_per_line: int
    """Lines with fewer words are removed (C4); CJK languages count characters."""
    remove_javascript_lines: bool
    """Remove lines containing "javascript" (C4)."""
    policy_substrings: tuple[str, ...]
    """Lines containing one of these (lowercased) are removed."""

    PER_LANGUAGE: ClassVar[tuple[str, ...]] = ("min_words_per_line",)

    def validate(self, path: str) -> None:
        for i, substring in enumerate(self.policy_substrings):
            if not substring:
                raise ConfigError(f"{path}.policy_substrings[{i}]: empty (it would remove every line)")


@dataclass(frozen=True, kw_only=True)
class GopherQualityConfig(RuleFamily):
    stop_words: dict[str, tuple[str, ...]]
    """Stop words per language; languages not listed skip ``gopher_quality:stop_words``."""
    bullets: tuple[str, ...]
    """A line starting with one of these is a bullet line."""


@dataclass(frozen=True, kw_only=True)
class FineWebConfig(RuleFamily):
    short_line_chars: int
    """A line of at most this many characters is short."""

    PER_LANGUAGE: ClassVar[tuple[str, ...]] = ("short_line_chars",)


@dataclass(frozen=True, kw_only=True)
class BadWordsConfig(RuleFamily):
    substring_languages: tuple[str, ...]
    """Languages matched by substring (no spaces between words); the others match whole words."""
    add_bigscience_flagged: bool
    """Add the bigscience ROOTS flagged words to the LDNOOBW list of each language."""
    allowed_contexts: dict[str, tuple[str, ...]]
    """Per substring language: ordinary words that contain a list entry (妈的 in 妈妈的); not counted as hits."""


FAMILY_CLASSES: dict[str, type[RuleFamily]] = {
    "url": UrlConfig,
    "chinese": ChineseConfig,
    "c4": C4Config,
    "gopher_quality": GopherQualityConfig,
    "fineweb": FineWebConfig,
    "badwords": BadWordsConfig,
}
"""Families with settings beyond their rules; any other conf section of ``quality`` is a plain ``RuleFamily``."""


@cache
def _bundled_mapping() -> dict[str, Any]:
    import os

    from udfs.config import PACKAGED_CONF_DIR, load_yaml_layers

    return load_yaml_layers(os.path.join(PACKAGED_CONF_DIR, "quality.yaml")).get("quality") or {}


@cache
def bundled() -> QualityConfig:
    """conf/quality.yaml as shipped (the defaults)."""
    return QualityConfig.from_dict({}, "quality")


def _bundled_field(name: str) -> Callable[[], Any]:
    return lambda: getattr(bundled(), name)


@dataclass(frozen=True)
class QualityConfig:
    """``quality.*`` in conf; ``QualityConfig()`` is conf/quality.yaml as shipped."""

    enabled: bool = field(default_factory=_bundled_field("enabled"))
    """Off: the stage only runs the model-based filters (``perplexity``, ``quality_classifier``)."""
    cjk_languages: tuple[str, ...] = field(default_factory=_bundled_field("cjk_languages"))
    """Languages written without spaces: words are counted as characters (each Han/Kana character one word), and
    Chinese/Japanese punctuation ends sentences and lines."""
    families: dict[str, RuleFamily] = field(default_factory=_bundled_field("families"))
    """Filter families in the order their rules are checked."""

    def __getattr__(self, name: str) -> RuleFamily:
        families = self.__dict__.get("families")
        if families is not None and name in families:
            return families[name]  # type: ignore[no-any-return]
        raise AttributeError(name)

    def rules(self) -> list[Rule]:
        """Every rule of every family, in check order (disabled ones included)."""
        return [rule for family in self.families.values() for rule in family.rules.values()]

    def replace_family(self, name: str, **settings: Any) -> QualityConfig:
        """A copy with family ``name``'s settings (or thresholds, by their flat name) replaced."""
        family = self.families[name]
        thresholds = dict(family.thresholds)
        own = {k: v for k, v in settings.items() if k not in thresholds}
        thresholds |= {k: v for k, v in settings.items() if k in thresholds}
        changed = dataclasses.replace(family, thresholds=thresholds, **own)
        return dataclasses.replace(self, families={**self.families, name: changed})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> QualityConfig:
        """``data`` over conf/quality.yaml, validated."""
        from udfs.config import deep_merge

        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {data!r}")
        merged = deep_merge(_bundled_mapping(), data)
        enabled = _coerce(merged.pop("enabled", True), bool, f"{path}.enabled")
        cjk = _coerce(merged.pop("cjk_languages", ()), tuple[str, ...], f"{path}.cjk_languages")
        families: dict[str, RuleFamily] = {}
        for name, section in merged.items():
            family_class = FAMILY_CLASSES.get(name, RuleFamily)
            families[name] = family_class.build(name, section or {}, f"{path}.{name}")
        columns: dict[str, str] = {}
        reasons: dict[str, str] = {}
        for family in families.values():
            for rule in family.rules.values():
                key = f"{path}.{rule.family}.rules.{rule.name}"
                if rule.score in columns or rule.reason in reasons:
                    other = columns.get(rule.score) or reasons[rule.reason]
                    raise ConfigError(f"{key}: score column or reason already used by {other}")
                columns[rule.score] = reasons[rule.reason] = key
        return cls(enabled=enabled, cjk_languages=cjk, families=families)
