"""``dedup.*`` configuration: exact, MinHash-LSH near and paragraph-level deduplication."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from udfs.errors import ConfigError

KEEP_POLICIES = ("first", "longest", "quality")
SHINGLE_UNITS = ("word", "char")


@dataclass(frozen=True)
class TextKeyConfig:
    """How text is normalized before hashing, so trivial differences do not hide a duplicate."""

    lowercase: bool = True
    collapse_whitespace: bool = True
    strip_punctuation: bool = False
    """Remove Unicode punctuation and symbols (categories P* and S*)."""
    strip_digits: bool = False
    """Remove Unicode digits (category N*)."""


@dataclass(frozen=True)
class ExactDedupConfig:
    enabled: bool = True
    text_key: TextKeyConfig = field(default_factory=TextKeyConfig)


@dataclass(frozen=True)
class ShingleRule:
    """One shingling rule: ``n``-grams of words (space-separated scripts) or of characters (zh/ja/ko)."""

    unit: str = "word"
    n: int = 5

    def validate(self, path: str) -> None:
        if self.unit not in SHINGLE_UNITS:
            raise ConfigError(f"{path}.unit: expected one of {', '.join(SHINGLE_UNITS)}, got {self.unit!r}")
        if not 1 <= self.n <= 64:
            raise ConfigError(f"{path}.n: must be within [1, 64], got {self.n}")


@dataclass(frozen=True)
class ShingleConfig:
    default: ShingleRule = field(default_factory=ShingleRule)
    """Rule for languages not listed in ``languages``."""
    languages: dict[str, ShingleRule] = field(
        default_factory=lambda: {lang: ShingleRule("char", 5) for lang in ("zh", "ja", "ko")}
    )
    """Rule per language code (the value of ``lang_column``)."""
    cjk_fallback: str | None = "zh"
    """For documents without a language: when most of their letters are Han/Kana/Hangul, use this language's rule."""
    min_cjk_share: float = 0.5
    """Share of non-space characters that must be CJK for ``cjk_fallback`` to apply."""

    def validate(self, path: str) -> None:
        if self.cjk_fallback is not None and self.cjk_fallback not in self.languages:
            raise ConfigError(f"{path}.cjk_fallback: {self.cjk_fallback!r} is not a key of {path}.languages")
        if not 0 < self.min_cjk_share <= 1:
            raise ConfigError(f"{path}.min_cjk_share: must be within (0, 1], got {self.min_cjk_share}")

    def rule_for(self, lang: str | None) -> ShingleRule:
        if lang is not None and lang in self.languages:
            return self.languages[lang]
        return self.default


@dataclass(frozen=True)
class NearDedupConfig:
    """MinHash-LSH near-duplicate detection."""

    enabled: bool = True
    threshold: float = 0.75
    """Jaccard similarity of shingle sets above which two documents are duplicates."""
    num_perm: int = 112
    """MinHash permutations per document."""
    bands: int | None = None
    """LSH bands; with ``rows`` both null they are derived from ``threshold`` (weighted FP+FN minimum)."""
    rows: int | None = None
    """Rows (permutations) per band; ``bands * rows <= num_perm``."""
    false_positive_weight: float = 0.1
    """Weight of the false-positive area when deriving bands x rows (verification removes false positives)."""
    false_negative_weight: float = 0.9
    """Weight of the false-negative area: misses are never recovered, so they weigh more."""
    seed: int = 42
    """Seed of the hash functions: runs sharing an index must use the same seed, num_perm, bands, rows, shingles."""
    text_key: TextKeyConfig = field(default_factory=lambda: TextKeyConfig(strip_punctuation=True))
    shingle: ShingleConfig = field(default_factory=ShingleConfig)
    lang_column: str = "lang"
    """Column holding the language code; missing or null uses the default rule (or ``shingle.cjk_fallback``)."""
    verify: bool = True
    """Check each candidate edge by the true Jaccard of the shingle sets and drop those below the threshold."""
    verify_threshold: float | None = None
    """Jaccard cut-off for ``verify``; null means ``threshold``."""
    verify_sketch_size: int = 512
    """The sharded pipeline verifies on a bottom-k sketch (the k smallest distinct shingle hashes, 4 bytes each)
    instead of the text: exact for documents of up to k shingles, else within ``sqrt(J(1-J)/k)``."""
    max_iterations: int = 40
    """Upper bound on large-star/small-star rounds of connected components (each round roughly halves depth)."""
    checkpoint_every: int = 3
    """Checkpoint the edge frame every this many rounds to cut the lineage."""
    index_path: str | None = None
    """Parquet band index shared across runs (incremental dedup); null disables it."""

    def validate(self, path: str) -> None:
        if not 0 < self.threshold < 1:
            raise ConfigError(f"{path}.threshold: must be within (0, 1), got {self.threshold}")
        if not 1 <= self.num_perm <= 1024:
            raise ConfigError(f"{path}.num_perm: must be within [1, 1024], got {self.num_perm}")
        if (self.bands is None) != (self.rows is None):
            raise ConfigError(f"{path}.bands: give both bands and rows, or neither (derived from threshold)")
        if self.bands is not None and self.rows is not None:
            if self.bands < 1 or self.rows < 1:
                raise ConfigError(f"{path}.bands: bands and rows must be >= 1")
            if self.bands * self.rows > self.num_perm:
                raise ConfigError(
                    f"{path}.bands: bands*rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}"
                )
        for name in ("false_positive_weight", "false_negative_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{path}.{name}: must be >= 0")
        if self.false_positive_weight + self.false_negative_weight <= 0:
            raise ConfigError(f"{path}.false_positive_weight: the two weights cannot both be 0")
        if self.verify_threshold is not None and not 0 < self.verify_threshold <= 1:
            raise ConfigError(f"{path}.verify_threshold: must be within (0, 1]")
        if not 16 <= self.verify_sketch_size <= 65536:
            raise ConfigError(f"{path}.verify_sketch_size: must be within [16, 65536], got {self.verify_sketch_size}")
        if self.max_iterations < 1:
            raise ConfigError(f"{path}.max_iterations: must be >= 1")
        if self.checkpoint_every < 1:
            raise ConfigError(f"{path}.checkpoint_every: must be >= 1")

    def verify_cutoff(self) -> float:
        """The Jaccard a verified candidate pair must reach: ``verify_threshold``, else ``threshold``."""
        return self.verify_threshold if self.verify_threshold is not None else self.threshold

    def index_settings(self) -> dict[str, Any]:
        """What decides a document's band hashes: runs sharing a band index must agree on all of it."""
        import dataclasses

        bands, rows = self.lsh_params()
        return {
            "seed": self.seed,
            "num_perm": self.num_perm,
            "bands": bands,
            "rows": rows,
            "text_key": dataclasses.asdict(self.text_key),
            "shingle": dataclasses.asdict(self.shingle),
        }

    def lsh_params(self) -> tuple[int, int]:
        """(bands, rows): as configured, or derived from the threshold."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        from udfs.dedup.lsh import optimal_bands_rows

        return optimal_bands_rows(
            self.threshold, self.num_perm, self.false_positive_weight, self.false_negative_weight
        )


@dataclass(frozen=True)
class ParagraphDedupConfig:
    """CCNet-style removal of paragraphs repeated across documents."""

    enabled: bool = False
    max_documents: int = 1
    """A paragraph found in more than this many documents is removed from all of them."""
    min_chars: int = 0
    """Shorter paragraphs (after normalization) are never removed."""
    text_key: TextKeyConfig = field(default_factory=lambda: TextKeyConfig(strip_digits=True))

    def validate(self, path: str) -> None:
        if self.max_documents < 1:
            raise ConfigError(f"{path}.max_documents: must be >= 1, got {self.max_documents}")
        if self.min_chars < 0:
            raise ConfigError(f"{path}.min_chars: must be >= 0")


@dataclass(frozen=True)
class DedupConfig:
    """``dedup.*`` in conf."""

    exact: ExactDedupConfig = field(default_factory=ExactDedupConfig)
    near: NearDedupConfig = field(default_factory=NearDedupConfig)
    paragraphs: ParagraphDedupConfig = field(default_factory=ParagraphDedupConfig)
    keep: str = "first"
    """Which copy survives: ``first`` (earliest date, then smallest id), ``longest`` (then first), or ``quality``
    (highest value of ``quality_column``, then first; ``first`` when the column is absent)."""
    keep_per_cluster: int = 1
    """Copies kept per near-duplicate cluster (the best ``k`` by the ``keep`` order)."""
    quality_column: str = "quality_score"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str = "dedup") -> DedupConfig:
        from udfs.config import dataclass_from_dict

        return dataclass_from_dict(cls, data, path)

    def validate(self, path: str) -> None:
        if self.keep not in KEEP_POLICIES:
            raise ConfigError(f"{path}.keep: expected one of {', '.join(KEEP_POLICIES)}, got {self.keep!r}")
        if self.keep_per_cluster < 1:
            raise ConfigError(f"{path}.keep_per_cluster: must be >= 1, got {self.keep_per_cluster}")
