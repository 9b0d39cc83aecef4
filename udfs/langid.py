"""Language ID over batches: fastText ``lid.176``, script evidence and a second detector for the doubtful cases.

Columns: ``lang`` (ISO 639-1 where lid.176 has it), ``lang_score`` and ``lang_method`` (which evidence decided:
``fasttext``, ``script`` or ``second``). Steps, for each text:

1. Clean: URLs, e-mail addresses, digits and markup carry no language and mislead the model on short pages;
   newlines become spaces (fastText predicts one line); only the first ``max_chars`` characters are used.
2. Decisive scripts: a script written by one language among lid.176's decides it — Kana → ja, Hangul → ko, Han
   without Kana or Hangul → zh, Thai → th, Greek → el (when that script is at least ``min_script_share`` of the
   letters; Kana and Hangul are checked first because Japanese and Korean also write Han characters).
3. fastText's top ten, narrowed by script only when its top label is impossible: a label whose script (Cyrillic,
   Arabic, Hebrew, Devanagari, Latin) does not occur in the text at all gives way to the best label of the text's
   majority script. (Narrowing whenever a script is the majority was measured to break more than it fixes: an Arabic
   sentence naming a Latin-script product is still Arabic.)
4. Second detector (CLD2, whose tables are compiled into the ``pycld2`` wheel): when fastText's top two labels are
   a known confusable pair (cs/sk, id/ms, hr/sr/bs, no/nn/da) and its top score is below ``confusable_below_score``,
   CLD2 picks within the pair; when the top score is below ``second_below_score``, CLD2's answer replaces fastText's
   if it is one of fastText's top ``second_candidates``. CLD2 never introduces a language fastText did not consider.

The models load lazily, once per Python worker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from udfs.errors import ConfigError
from udfs.models import bundled_lid_model_path, cached_model
from udfs.scripts import code_points, letter_table

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|<[^>]{1,200}>|&\w+;|[\d_]+")
# The same without the e-mail alternative, for the texts without "@" (most): ``\S+@`` backtracks through every
# word, and it was the costliest part of cleaning.
_NOISE_NO_EMAIL = re.compile(r"https?://\S+|www\.\S+|<[^>]{1,200}>|&\w+;|[\d_]+")
_LETTER = re.compile(r"[^\W\d_]")

# Code-point ranges of each script's letters (only letters are counted: they are picked out by _LETTER first).
_SCRIPT_RANGES: dict[str, list[tuple[int, int]]] = {
    "kana": [(0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)],
    "hangul": [(0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF)],
    "han": [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F)],
    "thai": [(0x0E00, 0x0E7F)],
    "greek": [(0x0370, 0x03FF), (0x1F00, 0x1FFF)],
    "cyrillic": [(0x0400, 0x052F), (0x1C80, 0x1C8F), (0x2DE0, 0x2DFF), (0xA640, 0xA69F)],
    "arabic": [(0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)],
    "hebrew": [(0x0590, 0x05FF), (0xFB1D, 0xFB4F)],
    "devanagari": [(0x0900, 0x097F), (0xA8E0, 0xA8FF)],
    "latin": [(0x0041, 0x005A), (0x0061, 0x007A), (0x00C0, 0x024F), (0x1E00, 0x1EFF)],
}
SCRIPTS = list(_SCRIPT_RANGES)
_OTHER_LETTER, _NOT_LETTER = len(SCRIPTS), len(SCRIPTS) + 1
# A script written (among lid.176's labels) by one language decides it; order matters: Kana and Hangul before Han.
DECISIVE_SCRIPTS: dict[str, str] = {"kana": "ja", "hangul": "ko", "han": "zh", "thai": "th", "greek": "el"}
# lid.176 labels written in each narrowing script (Wikipedia's main script for each language).
SCRIPT_LANGUAGES: dict[str, frozenset[str]] = {
    "cyrillic": frozenset({
        "ru", "uk", "bg", "be", "sr", "mk", "kk", "ky", "tg", "mn", "ba", "tt", "cv", "ce", "av", "os", "sah",
        "tyv", "bxr", "xal", "krc", "kv", "mhr", "mrj", "myv", "rue", "lez", "udm",
    }),
    "arabic": frozenset({"ar", "arz", "fa", "ur", "ps", "ckb", "sd", "ug", "azb", "pnb", "mzn", "lrc", "ks"}),
    "hebrew": frozenset({"he", "yi"}),
    "devanagari": frozenset({"hi", "mr", "ne", "sa", "new", "bh", "mai", "gom", "dty", "bpy"}),
}  # fmt: skip
# lid.176 labels written in Latin script as well as in the script above: never overruled by script narrowing.
_TWO_SCRIPTS = frozenset({"sr", "kk", "uz", "az", "tk", "tt", "ku", "ky", "mn"})
# lid.176 labels never written in Latin script, for narrowing mostly-Latin text.
_NON_LATIN = frozenset(
    set().union(*SCRIPT_LANGUAGES.values())
    | set(DECISIVE_SCRIPTS.values())
    | {"am", "as", "bn", "bo", "dv", "gu", "hy", "ka", "km", "kn", "lo", "ml", "my", "or", "pa", "si", "ta", "te",
       "wuu", "yue", "xmf"}
) - _TWO_SCRIPTS  # fmt: skip
# CLD2 codes that differ from lid.176's labels.
_CLD2_TO_LID = {"zh-Hant": "zh", "iw": "he", "jw": "jv", "sr-ME": "sr", "un": None, "xxx": None}


@dataclass(frozen=True)
class LangIdConfig:
    """``langid.*`` in conf."""

    model_path: str | None = None
    """fastText language-ID model; null uses the lid.176.ftz shipped in ``udfs/resources/``. For production
    point it at lid.176.bin (shipped to executors with --files) — more accurate, 126 MB per Python worker."""
    max_chars: int = 2000
    """Characters of cleaned text given to the model; the head of a page decides its language."""
    min_score: dict[str, float] = field(default_factory=lambda: {"default": 0.5})
    """Minimum ``lang_score`` per language (``default`` for the others); below it: ``langid:low_score``."""
    script_evidence: bool = True
    """Decisive scripts (Kana → ja, Hangul → ko, Han → zh, Thai → th, Greek → el) override the model (score 1; when
    the model agrees, its score and ``lang_method=fasttext`` stay), and a top
    label whose script is absent from the text gives way to the best label of the majority script."""
    min_script_share: float = 0.2
    """Share of letters in a decisive script (Kana, Hangul, Han, Thai, Greek) above which it decides the language."""
    narrow_script_share: float = 0.5
    """Share of letters in one script (Cyrillic, Arabic, Hebrew, Devanagari, Latin) above which that script's
    languages replace a top label whose script the text does not contain."""
    second_detector: str | None = "cld2"
    """Second detector for doubtful cases: ``cld2`` (pycld2 wheel, tables compiled in) or null for fastText only."""
    second_below_score: float = 0.6
    """fastText top score below which the second detector chooses among fastText's top candidates."""
    second_candidates: int = 3
    """How many of fastText's top labels (after script narrowing) the second detector may choose from."""
    confusable_below_score: float = 0.9
    """fastText top score below which a confusable pair on top goes to the second detector (measured: above 0.9
    CLD2 fixes nothing on the cs/sk and id/ms sentences of bench/langid_accuracy.py)."""
    confusable_groups: list[list[str]] = field(
        default_factory=lambda: [["cs", "sk"], ["id", "ms"], ["hr", "sr", "bs", "sh"], ["no", "nn", "da"]]
    )
    """Languages fastText confuses on short text: when its top two labels share a group, the second detector
    chooses within that group whatever fastText's score."""

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
        for key in ("min_script_share", "narrow_script_share", "second_below_score", "confusable_below_score"):
            if not 0 <= getattr(self, key) <= 1:
                raise ConfigError(f"{path}.{key}: must be within [0, 1], got {getattr(self, key)}")
        if self.second_detector not in (None, "cld2"):
            raise ConfigError(f"{path}.second_detector: expected cld2 or null, got {self.second_detector!r}")
        if self.second_candidates < 2:
            raise ConfigError(f"{path}.second_candidates: must be >= 2")
        for number, group in enumerate(self.confusable_groups):
            if len(group) < 2:
                raise ConfigError(f"{path}.confusable_groups[{number}]: a group needs at least two languages")

    def resolved_model_path(self) -> str:
        return self.model_path or bundled_lid_model_path()


def _load_fasttext(path: str) -> Any:
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None  # silence the load-time deprecation warning
    return fasttext.load_model(path)


def clean_for_langid(text: str, max_chars: int) -> str:
    """What the model sees: no URLs/e-mails/digits/markup, one line, at most ``max_chars``."""
    head = text[: max_chars * 2]
    noise = _NOISE if "@" in head else _NOISE_NO_EMAIL
    return " ".join(noise.sub(" ", head).split())[:max_chars]  # str.split's whitespace is the regex \s


@cache
def _script_table() -> np.ndarray:
    """Per code point: the number of its script in ``SCRIPTS`` for letters in a script's ranges, ``_OTHER_LETTER``
    for other letters, ``_NOT_LETTER`` for everything else (built once per worker)."""
    table = np.where(letter_table(), _OTHER_LETTER, _NOT_LETTER).astype(np.uint8)
    for number, name in enumerate(SCRIPTS):
        for start, end in _SCRIPT_RANGES[name]:
            segment = table[start : end + 1]
            segment[segment == _OTHER_LETTER] = number
    return table


def script_shares(text: str) -> dict[str, float]:
    """Share of the letters of ``text`` in each script of ``SCRIPTS`` (empty when it has no letters)."""
    counts = np.bincount(_script_table()[code_points(text)], minlength=_NOT_LETTER + 1)
    letters = int(counts[:_NOT_LETTER].sum())
    if not letters:
        return {}
    return dict(zip(SCRIPTS, (counts[: len(SCRIPTS)] / letters).tolist(), strict=True))


def _decisive_language(shares: Mapping[str, float], conf: LangIdConfig) -> str | None:
    for script, lang in DECISIVE_SCRIPTS.items():
        if script == "han" and (shares.get("kana", 0) > 0 or shares.get("hangul", 0) > 0):
            continue  # Han beside any Kana or Hangul is Japanese or Korean, below their share or not
        if shares.get(script, 0) >= conf.min_script_share:
            return lang
    return None


def _label_script(lang: str) -> str:
    for script, langs in SCRIPT_LANGUAGES.items():
        if lang in langs:
            return script
    return "other" if lang in _NON_LATIN else "latin"


def script_candidates(top_lang: str, shares: Mapping[str, float], conf: LangIdConfig) -> Callable[[str], bool] | None:
    """Which labels the text's majority script allows, when fastText's top label is impossible, else None.

    Only a label whose script does not occur in the text at all is overruled: a mostly-Arabic sentence naming a
    Latin-script product may well be Arabic, and a Russian one quoting English keywords is still Russian.
    """
    if top_lang in _TWO_SCRIPTS or shares.get(_label_script(top_lang), 1.0) > 0:
        return None
    for script, langs in SCRIPT_LANGUAGES.items():
        if shares.get(script, 0) >= conf.narrow_script_share:
            return langs.__contains__
    if shares.get("latin", 0) >= conf.narrow_script_share:
        return lambda lang: lang not in _NON_LATIN
    return None


def _cld2_ranking(text: str) -> list[str]:
    """CLD2's languages for ``text``, best first, as lid.176 labels; empty when CLD2 cannot say."""
    import pycld2

    try:
        _, _, details = pycld2.detect(text, bestEffort=True)
    except pycld2.error:
        return []  # CLD2 rejects some byte sequences (lone surrogates); fastText's answer stands
    ranking = []
    for _, code, percent, _ in details:
        lang = _CLD2_TO_LID.get(code, code)
        if lang and percent > 0:
            ranking.append(lang)
    return ranking


def _confusable_group(first: str, second: str, groups: Sequence[Sequence[str]]) -> Sequence[str] | None:
    for group in groups:
        if first in group and second in group:
            return group
    return None


def decide_language(
    text: str, labels: Sequence[str], probabilities: np.ndarray, conf: LangIdConfig
) -> tuple[str | None, float, str]:
    """One text: (lang, score, method) from fastText's full ranking, script evidence and the second detector."""
    ranked = list(zip(labels, probabilities.tolist(), strict=True))
    method = "fasttext"
    if conf.script_evidence:
        shares = script_shares(text)
        decided = _decisive_language(shares, conf)
        if decided is not None and (not ranked or decided != ranked[0][0]):
            # The script is unambiguous evidence that overrules the model; the score says how sure we are of it.
            return decided, 1.0, "script"
        allowed = script_candidates(ranked[0][0], shares, conf) if ranked else None
        if allowed is not None:
            narrowed = [(lang, p) for lang, p in ranked if allowed(lang)]
            if narrowed:
                # Renormalised over the languages the script allows: the others are impossible.
                total = sum(p for _, p in narrowed) or 1.0
                ranked, method = [(lang, p / total) for lang, p in narrowed], "script"
    if not ranked:
        return None, 0.0, method
    top_lang, top_score = ranked[0]
    if conf.second_detector is None or len(ranked) < 2:
        return top_lang, min(top_score, 1.0), method
    group = None
    if top_score < conf.confusable_below_score:
        group = _confusable_group(top_lang, ranked[1][0], conf.confusable_groups)
    if group is None and top_score >= conf.second_below_score:
        return top_lang, min(top_score, 1.0), method
    second_ranking = _cld2_ranking(text)
    if group:
        chosen = next((lang for lang in second_ranking if lang in group), None)
    else:
        # Low score: CLD2's own first answer must be one of fastText's top candidates (measured: switching to its
        # best candidate further down its list breaks as many sentences as it fixes).
        top_candidates = {lang for lang, _ in ranked[: conf.second_candidates]}
        chosen = second_ranking[0] if second_ranking and second_ranking[0] in top_candidates else None
    if chosen is None or chosen == top_lang:
        return top_lang, min(top_score, 1.0), method
    scores = dict(ranked)
    # Within a confusable group fastText is sure of the group, not of the member: the group's mass is the score.
    score = sum(scores.get(lang, 0.0) for lang in group) if group else scores[chosen]
    return chosen, min(score, 1.0), "second"


def detect_languages(texts: pd.Series, conf: LangIdConfig) -> pd.DataFrame:
    """``lang``, ``lang_score`` and ``lang_method`` for each text; a letter-less text gets ``lang=None``, score 0."""
    model = cached_model("fasttext", conf.resolved_model_path(), _load_fasttext)
    cleaned = [clean_for_langid(t or "", conf.max_chars) for t in texts]
    langs: list[str | None] = [None] * len(cleaned)
    methods: list[str | None] = [None] * len(cleaned)
    scores = np.zeros(len(cleaned), dtype=np.float64)
    index = [i for i, text in enumerate(cleaned) if _LETTER.search(text)]
    if index:
        # The top ten: script narrowing looks below the top; the right language is further down only on noise.
        all_labels, all_probabilities = model.predict([cleaned[i] for i in index], k=10)
        for position, labels, probabilities in zip(index, all_labels, all_probabilities, strict=True):
            names = [label.removeprefix("__label__") for label in labels]
            langs[position], scores[position], methods[position] = decide_language(
                cleaned[position], names, np.asarray(probabilities), conf
            )
    return pd.DataFrame({"lang": langs, "lang_score": scores, "lang_method": methods})


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
