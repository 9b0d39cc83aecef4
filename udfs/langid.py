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
from udfs.scripts import SCRIPT_RANGES, code_point_table, letter_table, per_text_counts, word_char_table

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|<[^>]{1,200}>|&\w+;|[\d_]+")
# The same without the e-mail alternative, for the texts without "@" (most): ``\S+@`` backtracks through every
# word, and it was the costliest part of cleaning. Its alternatives start with distinct characters, so it is written
# as their first-character class, then each alternative's rest behind a look-back at that character: ``re`` skips to
# the next candidate character in C instead of trying five alternatives at every position (sub 2x faster, same
# matches).
_NOISE_NO_EMAIL = re.compile(
    r"[hw<&\d_](?:(?<=h)ttps?://\S+|(?<=w)ww\.\S+|(?<=<)[^>]{1,200}>|(?<=&)\w+;|(?<=[\d_])[\d_]*)"
)
_LETTER = re.compile(r"[^\W\d_]")

SCRIPTS = list(SCRIPT_RANGES)  # udfs.scripts: the one table of script ranges
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
# Detectors that may vote with fastText (conf ``ensemble_weights``), and their codes that differ from lid.176's
# labels (None: no language, or one written in a script lid.176 has no label for, e.g. CLD3's romanized ``ja-Latn``).
DETECTORS = ("fasttext", "py3langid", "cld3", "cld2")
_TO_LID: dict[str, str | None] = {
    "zh-Hant": "zh", "iw": "he", "jw": "jv", "sr-ME": "sr", "nb": "no", "fil": "tl", "un": None, "xxx": None,
    "und": None, "zh-Latn": None, "ja-Latn": None, "bg-Latn": None, "el-Latn": None, "hi-Latn": None, "ru-Latn": None,
}  # fmt: skip


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
    ensemble_below_score: float = 0.9
    """fastText top probability below which the other detectors vote (1 = always, 0 = never: fastText alone)."""
    ensemble_max_chars: int = 300
    """Longest cleaned text the other detectors vote on: they were measured to help on short text (sentences of
    20-200 characters); on longer pages fastText is reliable alone and the vote would cost ~4x the langid time."""
    ensemble_weights: dict[str, float] = field(
        default_factory=lambda: {"fasttext": 1.0, "py3langid": 1.0, "cld3": 1.0, "cld2": 1.0}
    )
    """Weight of each detector in the vote (0 leaves a detector out, unloaded): a language's score is the weighted
    sum of log fastText and py3langid probabilities plus CLD3's probability and CLD2's text share."""
    language_bias: dict[str, float] = field(
        default_factory=lambda: {"default": 1.5, "bs": 4.0, "cs": 0.0, "en": 0.5, "es": 0.5, "hr": 3.5, "it": 0.5,
                                 "nl": 2.5, "nn": 3.0, "no": 1.0}
    )  # fmt: skip
    """Per-language term added to a language's vote score (``default`` for the others; fitted on the DEV sentences
    of bench/langid_data.py): the per-language decision thresholds of the vote. Only differences count."""
    mixed_enabled: bool = False
    """Compute ``lang_mixed`` (null when off). Off by default: it costs ~25-35 % of the stage's CPU time on web
    pages (one fastText call per sampled paragraph), and the stage keeps its speed without it."""
    mixed_min_paragraphs: int = 4
    """Pages with at least this many paragraphs (blank-line or line separated blocks of ``mixed_min_chars``) get
    paragraph-level language ID for ``lang_mixed``; shorter pages get 0."""
    mixed_min_chars: int = 100
    """Characters of cleaned text a line needs to count as a paragraph for ``lang_mixed`` (shorter lines — menus,
    headings — carry too little to identify and are left out of both sides of the share)."""
    mixed_max_paragraphs: int = 6
    """Paragraphs of a page identified at most (evenly spread over it) for ``lang_mixed``."""
    mixed_paragraph_chars: int = 100
    """Characters of each sampled paragraph given to fastText for ``lang_mixed``."""
    mixed_min_score: float = 0.5
    """fastText probability a paragraph's language needs to count as another language than the page's."""

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
        for key in ("min_script_share", "narrow_script_share", "ensemble_below_score", "mixed_min_score"):
            if not 0 <= getattr(self, key) <= 1:
                raise ConfigError(f"{path}.{key}: must be within [0, 1], got {getattr(self, key)}")
        for name, weight in self.ensemble_weights.items():
            if name not in DETECTORS:
                raise ConfigError(f"{path}.ensemble_weights.{name}: unknown detector, expected one of {DETECTORS}")
            if weight < 0:
                raise ConfigError(f"{path}.ensemble_weights.{name}: must be >= 0, got {weight}")
        if self.ensemble_weights.get("fasttext", 0) <= 0:
            raise ConfigError(f"{path}.ensemble_weights.fasttext: must be > 0 (fastText's ranking is the base)")
        if self.mixed_min_paragraphs < 2:
            raise ConfigError(f"{path}.mixed_min_paragraphs: must be >= 2")
        if self.mixed_max_paragraphs < self.mixed_min_paragraphs:
            raise ConfigError(f"{path}.mixed_max_paragraphs: must be >= mixed_min_paragraphs")
        if self.mixed_paragraph_chars < 20:
            raise ConfigError(f"{path}.mixed_paragraph_chars: must be >= 20")

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


def clean_batch_for_langid(texts: Sequence[str], max_chars: int) -> tuple[list[str], np.ndarray]:
    """:func:`clean_for_langid` of every text, and whether each cleaned text has a letter. Texts without "@" in
    their head (most) are cleaned in one compiled loop (:func:`udfs.kernels.clean_for_langid`); the others, whose
    e-mail alternative backtracks, by the regex."""
    from udfs.kernels import clean_for_langid as clean_heads
    from udfs.quality.text import _SPACE_TABLE, BatchPoints

    heads = [text[: max_chars * 2] for text in texts]
    plain = [i for i, head in enumerate(heads) if "@" not in head]
    with_at = [i for i, head in enumerate(heads) if "@" in head]
    cleaned: list[str] = [""] * len(texts)
    has_letter = np.zeros(len(texts), dtype=bool)
    if plain:
        batch = BatchPoints.of([heads[i] for i in plain])
        points, offsets, letters = clean_heads(batch.points, batch.offsets, max_chars, _SPACE_TABLE,
                                               word_char_table(), code_point_table(r"\d"), letter_table())
        data = points.tobytes()
        for i, a, b in zip(plain, offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
            cleaned[i] = data[4 * a : 4 * b].decode("utf-32-le", "surrogatepass")
        has_letter[plain] = letters
    for i in with_at:
        cleaned[i] = clean_for_langid(texts[i], max_chars)
        has_letter[i] = _LETTER.search(cleaned[i]) is not None
    return cleaned, has_letter


@cache
def _script_table() -> np.ndarray:
    """Per code point: the number of its script in ``SCRIPTS`` for letters in a script's ranges, ``_OTHER_LETTER``
    for other letters, ``_NOT_LETTER`` for everything else (built once per worker)."""
    table = np.where(letter_table(), _OTHER_LETTER, _NOT_LETTER).astype(np.uint8)
    for number, name in enumerate(SCRIPTS):
        for start, end in SCRIPT_RANGES[name]:
            segment = table[start : end + 1]
            segment[segment == _OTHER_LETTER] = number
    return table


def script_shares(text: str) -> dict[str, float]:
    """Share of the letters of ``text`` in each script of ``SCRIPTS`` (empty when it has no letters)."""
    return batch_script_shares([text])[0]


def batch_script_shares(texts: Sequence[str]) -> list[dict[str, float]]:
    """:func:`script_shares` of every text, from one table lookup over the batch's code points."""
    counts = per_text_counts(texts, _script_table(), _NOT_LETTER + 1)
    letters = counts[:, :_NOT_LETTER].sum(axis=1)
    shares = counts[:, : len(SCRIPTS)] / np.maximum(letters, 1)[:, None]
    return [
        dict(zip(SCRIPTS, row, strict=True)) if n else {}
        for row, n in zip(shares.tolist(), letters.tolist(), strict=True)
    ]


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


def _load_py3langid(path: str) -> Any:
    from py3langid.langid import LanguageIdentifier

    # py3langid >= 0.3 (numpy 2 only) reads its model with from_model_file; 0.2.2, what pip installs beside
    # numpy < 2 (the Spark 3.5 line), with from_pickled_model. Same languages, a different model build.
    if hasattr(LanguageIdentifier, "from_model_file"):
        return LanguageIdentifier.from_model_file(path, norm_probs=True)
    return LanguageIdentifier.from_pickled_model(path, norm_probs=True)


def _load_cld3(path: str) -> Any:
    import gcld3

    return gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=int(path))


def _add(votes: dict[str, float], code: str, value: float) -> None:
    lang = _TO_LID.get(code, code)
    if lang:
        votes[lang] = votes.get(lang, 0.0) + value


def _py3langid_probabilities(text: str) -> dict[str, float]:
    from py3langid.langid import MODEL_FILE

    votes: dict[str, float] = {}
    for code, probability in cached_model("py3langid", str(MODEL_FILE), _load_py3langid).rank(text):
        _add(votes, code, float(probability))
    return votes


def _cld3_probabilities(text: str, max_chars: int) -> dict[str, float]:
    votes: dict[str, float] = {}
    # The text's share in a language times CLD3's probability for it (CLD3 splits mixed text).
    for result in cached_model("cld3", str(max_chars * 4), _load_cld3).FindTopNMostFreqLangs(text, num_langs=3):
        _add(votes, result.language, result.probability * result.proportion)
    return votes


def _cld2_shares(text: str) -> dict[str, float]:
    """CLD2's languages for ``text`` with their share of it; empty when CLD2 cannot say."""
    import pycld2

    try:
        _, _, details = pycld2.detect(text, bestEffort=True)
    except pycld2.error:
        return {}  # CLD2 rejects some byte sequences (lone surrogates); the other detectors decide
    votes: dict[str, float] = {}
    for _, code, percent, _ in details:
        if percent > 0:
            _add(votes, code, percent / 100)
    return votes


OUTPUT_COLUMNS = {"lang": "string", "lang_score": "double", "lang_method": "string", "lang_mixed": "double"}
"""Columns of :func:`detect_languages` (name → Spark type): what the langid stage and the shard pass add."""

_LOG_FLOOR = 1e-4
"""Probability a detector's log-vote bottoms out at: a language one detector misses is penalised, not ruled out."""


def ensemble_ranking(
    text: str, labels: Sequence[str], probabilities: np.ndarray, conf: LangIdConfig
) -> tuple[list[str], np.ndarray]:
    """fastText's ranking rescored by the vote of the other detectors: each language (fastText's top ten and the
    others' answers, among lid.176's labels) scores ``w_ft·log p_ft + w_py·log p_py + w_cld3·p_cld3 +
    w_cld2·share_cld2 + bias``; the ranking is the softmax of the scores divided by the log terms' weights (a
    normalised weighted geometric mean of the two probability models, with CLD3's and CLD2's bonuses)."""
    weights = conf.ensemble_weights
    fasttext = dict(zip(labels, probabilities.tolist(), strict=True))
    known = _lid_labels(conf)
    py3 = _py3langid_probabilities(text) if weights.get("py3langid", 0) > 0 else {}
    cld3 = _cld3_probabilities(text, conf.max_chars) if weights.get("cld3", 0) > 0 else {}
    cld2 = _cld2_shares(text) if weights.get("cld2", 0) > 0 else {}
    default_bias = conf.language_bias.get("default", 0.0)
    py3_top = sorted(py3, key=py3.__getitem__, reverse=True)[:3]
    candidates = [lang for lang in dict.fromkeys([*labels, *py3_top, *cld3, *cld2]) if lang in known]
    scores = np.array([
        weights["fasttext"] * np.log(fasttext.get(lang, 0.0) + _LOG_FLOOR)
        + weights.get("py3langid", 0) * (np.log(py3.get(lang, 0.0) + _LOG_FLOOR) if py3 else 0.0)
        + weights.get("cld3", 0) * cld3.get(lang, 0.0)
        + weights.get("cld2", 0) * cld2.get(lang, 0.0)
        + conf.language_bias.get(lang, default_bias)
        for lang in candidates
    ])  # fmt: skip
    # The log terms make a weighted geometric mean of the two probability models once divided by their weights; the
    # CLD3 and CLD2 terms are bonuses on that scale.
    scaled = scores / (weights["fasttext"] + (weights.get("py3langid", 0) if py3 else 0.0))
    exponentials = np.exp(scaled - scaled.max())
    order = np.argsort(-exponentials, kind="stable")[:10]
    return [candidates[i] for i in order], exponentials[order] / exponentials.sum()


@cache
def _lid_labels_of(path: str) -> frozenset[str]:
    model = cached_model("fasttext", path, _load_fasttext)
    return frozenset(label.removeprefix("__label__") for label in model.get_labels())


def _lid_labels(conf: LangIdConfig) -> frozenset[str]:
    return _lid_labels_of(conf.resolved_model_path())


def decide_language(
    text: str,
    labels: Sequence[str],
    probabilities: np.ndarray,
    conf: LangIdConfig,
    shares: Mapping[str, float] | None = None,
) -> tuple[str | None, float, str]:
    """One text: (lang, score, method) from fastText's ranking, the detectors' vote when fastText is unsure, and
    script evidence (``shares``: the text's :func:`script_shares` when the caller has them already)."""
    method = "fasttext"
    if not conf.script_evidence:
        shares = {}
    elif shares is None:
        shares = script_shares(text)
    decided = _decisive_language(shares, conf) if conf.script_evidence else None
    if decided is not None:
        if len(labels) and labels[0] == decided:
            return decided, min(float(probabilities[0]), 1.0), method  # the model agrees: its score stays
        # The script is unambiguous evidence that overrules the model; the score says how sure we are of it.
        return decided, 1.0, "script"
    if (
        len(labels)
        and float(probabilities[0]) < conf.ensemble_below_score
        and len(text) <= conf.ensemble_max_chars
        and len(conf.ensemble_weights) > 1
    ):
        labels, probabilities = ensemble_ranking(text, labels, probabilities, conf)
        method = "ensemble"
    ranked = list(zip(labels, probabilities.tolist(), strict=True))
    if conf.script_evidence and ranked:
        allowed = script_candidates(ranked[0][0], shares, conf)
        if allowed is not None:
            narrowed = [(lang, p) for lang, p in ranked if allowed(lang)]
            if narrowed:
                # Renormalised over the languages the script allows: the others are impossible.
                total = sum(p for _, p in narrowed) or 1.0
                ranked, method = [(lang, p / total) for lang, p in narrowed], "script"
    if not ranked:
        return None, 0.0, method
    top_lang, top_score = ranked[0]
    return top_lang, min(top_score, 1.0), method


def detect_languages(texts: pd.Series, conf: LangIdConfig) -> pd.DataFrame:
    """``lang``, ``lang_score``, ``lang_method`` and ``lang_mixed`` for each text; a letter-less text gets
    ``lang=None``, score 0."""
    model = cached_model("fasttext", conf.resolved_model_path(), _load_fasttext)
    cleaned, has_letter = clean_batch_for_langid([t or "" for t in texts], conf.max_chars)
    langs: list[str | None] = [None] * len(cleaned)
    methods: list[str | None] = [None] * len(cleaned)
    scores = np.zeros(len(cleaned), dtype=np.float64)
    index = np.flatnonzero(has_letter).tolist()
    if index:
        # The top ten: script narrowing looks below the top; the right language is further down only on noise.
        texts_with_letters = [cleaned[i] for i in index]
        all_labels, all_probabilities = model.predict(texts_with_letters, k=10)
        all_shares = batch_script_shares(texts_with_letters) if conf.script_evidence else [{}] * len(index)
        for position, labels, probabilities, shares in zip(
            index, all_labels, all_probabilities, all_shares, strict=True
        ):
            names = [label.removeprefix("__label__") for label in labels]
            langs[position], scores[position], methods[position] = decide_language(
                cleaned[position], names, np.asarray(probabilities), conf, shares
            )
    mixed = mixed_language_shares(texts, langs, conf, model)
    return pd.DataFrame({"lang": langs, "lang_score": scores, "lang_method": methods, "lang_mixed": mixed})


def mixed_language_shares(texts: pd.Series, langs: Sequence[str | None], conf: LangIdConfig, model: Any) -> np.ndarray:
    """``lang_mixed``: per page, the share (by characters) of its paragraphs whose language is not the page's (all
    null unless ``mixed_enabled``).

    Paragraphs are lines of at least ``mixed_min_chars`` cleaned characters; only pages with at least
    ``mixed_min_paragraphs`` of them are split. At most ``mixed_max_paragraphs`` of a page's paragraphs, evenly
    spread over it, are identified, each from its first ``mixed_paragraph_chars`` characters and weighted by its
    length: a sample, so the cost per page stays below the page-level call's. Every sampled paragraph of the batch
    goes to fastText in one call. A paragraph counts as another language when fastText's top label differs from
    the page's with probability ``mixed_min_score`` or more (a Han-only paragraph of a zh/ja page is not judged:
    fastText mixes the two on Kanji-only lines).
    """
    if not conf.mixed_enabled:
        return np.full(len(langs), np.nan)
    shares = np.zeros(len(langs), dtype=np.float64)
    owners: list[int] = []
    paragraphs: list[str] = []
    weights: list[int] = []
    for row, (text, lang) in enumerate(zip(texts, langs, strict=True)):
        if not lang or not text:
            continue
        # Cleaning only shortens a line: the raw length picks the candidates before the regex work.
        candidates = [line for line in text.split("\n") if len(line) >= conf.mixed_min_chars]
        if len(candidates) < conf.mixed_min_paragraphs:
            continue
        if len(candidates) > conf.mixed_max_paragraphs:
            spread = np.linspace(0, len(candidates) - 1, conf.mixed_max_paragraphs).round().astype(int)
            candidates = [candidates[i] for i in spread]
        heads = [clean_for_langid(line[: conf.mixed_paragraph_chars * 2], conf.mixed_paragraph_chars)
                 for line in candidates]  # fmt: skip
        kept = [(head, len(line)) for head, line in zip(heads, candidates, strict=True)
                if len(head) >= min(conf.mixed_min_chars, conf.mixed_paragraph_chars)]  # fmt: skip
        if len(kept) >= conf.mixed_min_paragraphs:
            owners += [row] * len(kept)
            paragraphs += [head for head, _ in kept]
            weights += [length for _, length in kept]
    if not paragraphs:
        return shares
    labels, probabilities = model.predict(paragraphs, k=1)
    other = np.zeros(len(langs), dtype=np.float64)
    total = np.zeros(len(langs), dtype=np.float64)
    for row, paragraph, weight, label, probability in zip(
        owners, paragraphs, weights, labels, probabilities, strict=True
    ):
        total[row] += weight
        lang = label[0].removeprefix("__label__")
        page_lang = langs[row]
        if lang != page_lang and probability[0] >= conf.mixed_min_score and not (
            {lang, page_lang} <= {"zh", "ja"} and not _has_kana(paragraph)
        ):
            other[row] += weight
    np.divide(other, total, out=shares, where=total > 0)
    return shares


def _has_kana(text: str) -> bool:
    return script_shares(text).get("kana", 0.0) > 0


NO_LANGUAGE = "langid:no_language"
"""Reason of a page without a language: ``lang`` null or empty (the Spark stage tests the same two)."""
LOW_SCORE = "langid:low_score"
"""Reason of a page whose ``lang_score`` is below its language's ``min_score``."""


def score_thresholds(conf: LangIdConfig) -> tuple[dict[str, float], float]:
    """(minimum score per listed language, the default for the others): what both the pandas rule and the Spark
    stage compare ``lang_score`` with."""
    return {lang: score for lang, score in conf.min_score.items() if lang != "default"}, conf.min_score["default"]


def min_score_for(langs: pd.Series, conf: LangIdConfig) -> pd.Series:
    thresholds, default = score_thresholds(conf)
    return langs.map(lambda lang: thresholds.get(lang, default) if isinstance(lang, str) else default).astype(float)


def langid_reasons(langs: pd.Series, scores: pd.Series, conf: LangIdConfig) -> pd.Series:
    """The stage's rule over ``lang``/``lang_score`` in pandas (jobs/stages/langid.py applies the same thresholds
    and reasons as Spark expressions; tests/test_langid_spark.py runs the same rows through both): no language
    first, then a score below the language's minimum."""
    reasons = pd.Series([None] * len(langs), dtype=object, index=langs.index)
    low = scores.to_numpy() < min_score_for(langs, conf).to_numpy()
    reasons[low] = LOW_SCORE
    no_language = langs.isna().to_numpy() | (langs.fillna("").to_numpy() == "")
    reasons[no_language] = NO_LANGUAGE
    return reasons
