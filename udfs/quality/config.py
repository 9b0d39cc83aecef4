"""``quality.*`` in conf: one sub-section per filter family, each with ``enabled`` and its thresholds.

Every numeric field of a filter can be overridden per language under that filter's ``languages`` mapping, e.g.
``fineweb.languages.zh.short_line_chars: 10``; an override of ``null`` switches that rule off for the language
(``gopher_quality.languages.ja.min_mean_word_length: null``: Japanese has no spaces, so no word length). Code
defaults equal conf/quality.yaml, which cites where each value comes from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from udfs.errors import ConfigError

Overrides = dict[str, dict[str, float | None]]

# Scripts without spaces (zh, ja) and agglutinative Korean: no Gopher word-length rule (a "word" is a character or
# an eojeol there).
_NO_WORD_LENGTH = {"min_mean_word_length": None, "max_mean_word_length": None}
# A Han/Kana character carries about two Latin characters of content: FineWeb's 30-character short line is 15.
_CJK_SHORT_LINE = {"short_line_chars": 15.0}


class _PerLanguage:
    """Mixin: ``value(name, lang)`` reads a threshold with the language override applied."""

    languages: Overrides

    def value(self, name: str, lang: str | None) -> float | None:
        override = self.languages.get(lang or "", {})
        return override[name] if name in override else getattr(self, name)

    def overrides_of(self, name: str) -> dict[str, float | None]:
        """``{lang: value}`` for the languages overriding ``name``."""
        return {lang: values[name] for lang, values in self.languages.items() if name in values}

    def check_overrides(self, path: str) -> None:
        numeric = {
            f.name
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if str(f.type).replace(" | None", "") in ("int", "float")
        }
        for lang, values in self.languages.items():
            for name in values:
                if name not in numeric:
                    raise ConfigError(
                        f"{path}.languages.{lang}.{name}: not a numeric setting of this filter "
                        f"(known: {', '.join(sorted(numeric))})"
                    )


def _ratio(value: float | None, key: str) -> None:
    if value is not None and not 0 <= value <= 1:
        raise ConfigError(f"{key}: must be within [0, 1], got {value}")


@dataclass(frozen=True)
class UrlConfig:
    enabled: bool = True
    """Run the URL rules (``url:blocklist``, ``url:substring``)."""
    blocklist_files: tuple[str, ...] = ()
    """Extra block-list files (same format as ``udfs/quality/data/url_blocklist.txt``); the bundled one always
    applies unless ``use_bundled_list`` is false."""
    use_bundled_list: bool = True
    """Use the starter list shipped in ``udfs/quality/data/url_blocklist.txt``."""
    blocked_domains: tuple[str, ...] = ()
    """More blocked hosts (a host blocks its sub-domains too) → ``url:blocklist``."""
    banned_words: tuple[str, ...] = ()
    """More whole-token URL words (URL split on non-alphanumerics) → ``url:substring``."""

    def validate(self, path: str) -> None:
        from udfs.quality.lists import url_blocklist

        for i, name in enumerate(self.blocklist_files):
            try:
                url_blocklist((name,))
            except (OSError, ValueError) as exc:
                raise ConfigError(f"{path}.blocklist_files[{i}]: {exc}") from exc


@dataclass(frozen=True)
class ChineseConfig(_PerLanguage):
    enabled: bool = True
    """Run the Chinese rules (``zh:*``) on the languages in ``apply_to``."""
    apply_to: tuple[str, ...] = ("zh",)
    """Languages (``lang``) the Chinese rules apply to."""
    min_chinese_chars: int = 10
    """Fewer Han characters than this after cleaning → ``zh:min_chinese_chars`` (WuDao)."""
    remove_ad_lines: bool = True
    """Remove lines with gambling / lottery / pharmacy / fake-certificate ads or QQ/WeChat contact solicitations."""
    max_ad_line_ratio: float = 0.2
    """Share of non-empty lines that were ad lines above which the page is dropped → ``zh:ad_lines``."""
    min_stopword_ratio: float = 0.3
    """Share of the page's Han characters inside bigscience zh stop words below which → ``zh:stop_words``:
    prose without function words (的/了/是/在…) is a keyword list or a catalogue
    (prose in the fixtures: 0.52–0.64)."""
    languages: Overrides = field(default_factory=dict)
    """Per-language overrides of the numeric settings above."""

    def validate(self, path: str) -> None:
        _ratio(self.max_ad_line_ratio, f"{path}.max_ad_line_ratio")
        _ratio(self.min_stopword_ratio, f"{path}.min_stopword_ratio")
        self.check_overrides(path)


@dataclass(frozen=True)
class C4Config(_PerLanguage):
    enabled: bool = True
    """Run C4 line removal and the ``c4:*`` document rules."""
    remove_no_terminal_punct: bool = True
    """Remove lines not ending in terminal punctuation (C4). FineWeb runs C4 with this off."""
    min_words_per_line: int = 3
    """Lines with fewer words are removed (C4); CJK languages count characters."""
    remove_javascript_lines: bool = True
    """Remove lines containing "javascript" (C4)."""
    policy_substrings: tuple[str, ...] = (
        "terms of use",
        "privacy policy",
        "cookie policy",
        "uses cookies",
        "use of cookies",
        "use cookies",
        "隐私政策",
        "使用条款",
        "版权所有",
        "免责声明",
    )
    """Lines containing one of these (lowercased) are removed (C4's list + Chinese equivalents)."""
    min_sentences: int = 5
    """Fewer sentences left after line removal → ``c4:min_sentences`` (C4)."""
    drop_lorem_ipsum: bool = True
    """"lorem ipsum" anywhere → ``c4:lorem_ipsum`` (C4)."""
    drop_curly_bracket: bool = True
    """A "{" anywhere → ``c4:curly_bracket`` (C4: code, not prose)."""
    languages: Overrides = field(default_factory=dict)
    """Per-language overrides of the numeric settings above."""

    def validate(self, path: str) -> None:
        self.check_overrides(path)


@dataclass(frozen=True)
class GopherQualityConfig(_PerLanguage):
    enabled: bool = True
    """Run the ``gopher_quality:*`` rules."""
    min_words: int = 50
    """Fewer words → ``gopher_quality:word_count`` (Gopher); CJK languages count characters."""
    max_words: int = 100_000
    """More words → ``gopher_quality:word_count``."""
    min_mean_word_length: float | None = 3.0
    """Mean word length outside [min, max] → ``gopher_quality:mean_word_length``."""
    max_mean_word_length: float | None = 10.0
    """Upper bound of the mean word length (null: no upper bound)."""
    max_symbol_word_ratio: float = 0.1
    """("#" + "..." + "…") per word above this → ``gopher_quality:symbol_ratio``."""
    max_bullet_lines_ratio: float = 0.9
    """Share of lines starting with a bullet above this → ``gopher_quality:bullet_lines``."""
    max_ellipsis_lines_ratio: float = 0.3
    """Share of lines ending with an ellipsis above this → ``gopher_quality:ellipsis_lines``."""
    min_alpha_words_ratio: float = 0.8
    """Share of words with a letter below this → ``gopher_quality:alpha_words``."""
    min_stop_words: int = 2
    """Fewer stop-word occurrences than this → ``gopher_quality:stop_words``; only for languages in
    ``stop_words``."""
    stop_words: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"en": ("the", "be", "to", "of", "and", "that", "have", "with")}
    )
    """Stop words per language (Gopher's English eight); languages not listed skip the rule."""
    languages: Overrides = field(
        default_factory=lambda: {lang: dict(_NO_WORD_LENGTH) for lang in ("zh", "ja", "ko", "yue", "wuu")}
    )
    """Per-language overrides; zh/ja/ko/yue/wuu switch the word-length rule off."""

    def validate(self, path: str) -> None:
        for name in ("max_bullet_lines_ratio", "max_ellipsis_lines_ratio", "min_alpha_words_ratio"):
            _ratio(getattr(self, name), f"{path}.{name}")
        self.check_overrides(path)


@dataclass(frozen=True)
class GopherRepetitionConfig(_PerLanguage):
    enabled: bool = True
    """Run the ``gopher_repetition:*`` rules."""
    max_dup_line_frac: float = 0.3
    """Share of lines that repeat an earlier line → ``gopher_repetition:dup_line_frac``."""
    max_dup_para_frac: float = 0.3
    """Share of paragraphs repeating an earlier one → ``gopher_repetition:dup_para_frac``."""
    max_dup_line_char_frac: float = 0.2
    """Share of characters in repeated lines → ``gopher_repetition:dup_line_char_frac``."""
    max_dup_para_char_frac: float = 0.2
    """Share of characters in repeated paragraphs → ``gopher_repetition:dup_para_char_frac``."""
    max_top_2gram_frac: float = 0.2
    """Share of characters covered by the most repeated word 2-gram (character n-grams for CJK)."""
    max_top_3gram_frac: float = 0.18
    """As ``max_top_2gram_frac``, for 3-grams."""
    max_top_4gram_frac: float = 0.16
    """As ``max_top_2gram_frac``, for 4-grams."""
    max_dup_5gram_frac: float = 0.15
    """Share of characters inside repeated 5-grams (overlaps counted once) → ``gopher_repetition:dup_5gram_frac``."""
    max_dup_6gram_frac: float = 0.14
    """As ``max_dup_5gram_frac``, for 6-grams (and so on to 10)."""
    max_dup_7gram_frac: float = 0.13
    max_dup_8gram_frac: float = 0.12
    max_dup_9gram_frac: float = 0.11
    max_dup_10gram_frac: float = 0.10
    languages: Overrides = field(default_factory=dict)
    """Per-language overrides of the thresholds above."""

    def validate(self, path: str) -> None:
        for f in dataclasses.fields(self):
            if f.name.startswith("max_"):
                _ratio(getattr(self, f.name), f"{path}.{f.name}")
        self.check_overrides(path)


@dataclass(frozen=True)
class FineWebConfig(_PerLanguage):
    enabled: bool = True
    """Run the ``fineweb:*`` rules."""
    min_line_punct_ratio: float = 0.12
    """Share of lines ending in terminal punctuation below this → ``fineweb:line_punct_ratio``."""
    short_line_chars: int = 30
    """A line of at most this many characters is short."""
    max_short_line_ratio: float = 0.67
    """Share of short lines above this → ``fineweb:short_line_ratio``."""
    max_char_dup_ratio: float = 0.01
    """Characters in repeated lines / characters (newlines excluded) above this → ``fineweb:char_dup_ratio``."""
    max_newline_word_ratio: float = 0.3
    """Newlines per word above this (a list, not prose) → ``fineweb:list_ratio``."""
    languages: Overrides = field(
        default_factory=lambda: {lang: dict(_CJK_SHORT_LINE) for lang in ("zh", "ja", "yue", "wuu")}
    )
    """Per-language overrides; CJK languages count 15 characters as a short line."""

    def validate(self, path: str) -> None:
        self.check_overrides(path)


@dataclass(frozen=True)
class BadWordsConfig(_PerLanguage):
    enabled: bool = True
    """Run the ``badwords:<lang>`` rule (languages with an LDNOOBW list: en, zh, ja, ko)."""
    max_ratio: float = 0.0
    """Bad-word hits per word above this → ``badwords:<lang>``; 0 drops a page on any hit, as C4 did."""
    substring_languages: tuple[str, ...] = ("zh", "ja")
    """Languages matched by substring (no spaces between words); the others match whole words."""
    add_bigscience_flagged: bool = False
    """Add the bigscience ROOTS flagged words (porn vocabulary) to the LDNOOBW list of each language."""
    allowed_contexts: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {"zh": ("妈妈的", "成人教育", "成人高考", "成人礼")}
    )
    """Per substring language: ordinary words that contain a list entry (妈的 in 妈妈的); not counted as hits."""
    languages: Overrides = field(default_factory=lambda: {"zh": {"max_ratio": 0.002}, "ja": {"max_ratio": 0.002}})
    """Per-language overrides of ``max_ratio``; substring languages get a rate, not C4's any-hit rule."""

    def validate(self, path: str) -> None:
        self.check_overrides(path)


@dataclass(frozen=True)
class QualityConfig:
    """``quality.*`` in conf."""

    enabled: bool = True
    """Off: the stage only runs the model-based filters (``perplexity``, ``quality_classifier``)."""
    cjk_languages: tuple[str, ...] = ("zh", "ja", "yue", "wuu")
    """Languages written without spaces: words are counted as characters (each Han/Kana character one word), and
    Chinese/Japanese punctuation ends sentences and lines."""
    url: UrlConfig = field(default_factory=UrlConfig)
    """URL block-list and banned URL words."""
    chinese: ChineseConfig = field(default_factory=ChineseConfig)
    """Chinese rules: Han character minimum, ad/spam lines, stop words."""
    c4: C4Config = field(default_factory=C4Config)
    """C4 line removal and document rules."""
    gopher_quality: GopherQualityConfig = field(default_factory=GopherQualityConfig)
    """Gopher quality rules."""
    gopher_repetition: GopherRepetitionConfig = field(default_factory=GopherRepetitionConfig)
    """Gopher repetition rules."""
    fineweb: FineWebConfig = field(default_factory=FineWebConfig)
    """FineWeb rules."""
    badwords: BadWordsConfig = field(default_factory=BadWordsConfig)
    """Bad words per language."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> QualityConfig:
        from udfs.config import dataclass_from_dict

        return dataclass_from_dict(cls, data, path)
