"""Text normalization over batches: mojibake repair, NFC, control characters, whitespace, Traditional→Simplified.

Mojibake repair is conservative: only text showing a UTF-8 lead byte read as a cp1252/latin-1 character followed by a
continuation byte read the same way (``Ã©``, ``â€™``, ``ä¸\xad``) is handed to ftfy, and ftfy may only undo that
mis-decoding — no HTML unescaping, quote uncurling, width folding, lossy-sequence replacement or normalization of its
own. Clean text never reaches ftfy, which keeps the cost to one regex search per page.

The ``normalize`` stage runs before language ID, so whether a page is Chinese is decided here from script evidence:
a page whose letters are mostly Han characters and that has no Kana (Japanese mixes Han with Kana) is converted with
OpenCC, and its original script is recorded in ``zh_script`` (``simplified`` / ``traditional`` / ``mixed``; null
for non-Chinese pages).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from udfs.errors import ConfigError
from udfs.models import cached_model
from udfs.scripts import HAN_CHAR, code_points, letter_han_kana_counts

OPENCC_MODES = ("t2s", "tw2s", "hk2s", "tw2sp", "hk2sp", "s2t", "t2tw", "t2hk")
REASON_EMPTY_AFTER_CLEANUP = "normalize:empty_after_cleanup"
"""The stage's one drop reason: nothing is left once control characters, invisible marks and blanks are removed
(:func:`clean_text` strips the text, so what is left is either empty or has a visible character)."""

# C0/C1 controls except tab and newline, zero-width and bidi marks, BOM: invisible noise in extracted web text.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
# Horizontal spaces other than the ideographic space U+3000, which Chinese and Japanese text uses on purpose. Each
# run becomes one " ": the pattern leaves single plain spaces alone (one match per word would cost more than the
# rest of the clean-up).
_OTHER_SPACE = "\t\u00a0\u1680\u2000-\u200a\u202f\u205f"
_SPACES = re.compile(f"[ {_OTHER_SPACE}]{{2,}}|[{_OTHER_SPACE}]")
# Whether _SPACES can match at all: a double space (a fast substring search) or one other space (a one-class scan,
# which re runs as a tight loop; the alternation above tries both branches at every character).
_ANY_OTHER_SPACE = re.compile(f"[{_OTHER_SPACE}]")
_TRAILING = re.compile(r"[ \t]+\n|\n[ \t]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
# A UTF-8 lead byte (0xC2-0xF4) then a continuation byte (0x80-0xBF), both decoded as cp1252 or latin-1: the trace
# mis-decoded UTF-8 leaves. The continuation set is latin-1's 0x80-0xBF plus the characters cp1252 puts at 0x80-0x9F.
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014"
    "\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)


@dataclass(frozen=True)
class NormalizeConfig:
    """``normalize.*`` in conf."""

    unicode_form: str = "NFC"
    """Unicode normalization form; NFC keeps full-width punctuation that Chinese rules rely on (NFKC would not)."""
    opencc_mode: str | None = "t2s"
    """OpenCC conversion for Chinese pages (t2s, tw2s, hk2s, ...); null keeps the original script."""
    min_han_share: float = 0.3
    """Share of letters that must be Han characters (and no Kana) for a page to count as Chinese."""
    max_blank_lines: int = 2
    """Longer runs of blank lines are collapsed to this many."""
    mixed_script_share: float = 0.1
    """A Chinese page counts as written in one script while the other script's characters stay under this share of
    its own (``zh_script``; see :func:`chinese_script`)."""
    repair_mojibake: bool = True
    """Undo UTF-8 text mis-decoded as cp1252/latin-1 (ftfy's encoding fix only), on text that shows its trace."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> NormalizeConfig:
        from udfs.config import dataclass_from_dict

        return dataclass_from_dict(cls, data, path)

    def validate(self, path: str) -> None:
        if self.unicode_form not in ("NFC", "NFKC", "NFD", "NFKD"):
            raise ConfigError(f"{path}.unicode_form: expected NFC, NFKC, NFD or NFKD, got {self.unicode_form!r}")
        if self.opencc_mode is not None and self.opencc_mode not in OPENCC_MODES:
            raise ConfigError(f"{path}.opencc_mode: expected one of {', '.join(OPENCC_MODES)} or null")
        if not 0 < self.min_han_share <= 1:
            raise ConfigError(f"{path}.min_han_share: must be within (0, 1]")
        if self.max_blank_lines < 1:
            raise ConfigError(f"{path}.max_blank_lines: must be >= 1")
        if not 0 <= self.mixed_script_share < 1:
            raise ConfigError(f"{path}.mixed_script_share: must be within [0, 1)")


def _mojibake_fixer_config() -> Any:
    import ftfy

    # Only the re-decoding of mis-decoded UTF-8 (and of pieces of it inside otherwise good text); every other ftfy
    # fix is off: they change text that is not broken, and the rest of clean_text does its own normalization.
    return ftfy.TextFixerConfig(
        unescape_html=False,
        remove_terminal_escapes=False,
        fix_encoding=True,
        restore_byte_a0=False,
        replace_lossy_sequences=False,
        decode_inconsistent_utf8=True,
        fix_c1_controls=False,
        fix_latin_ligatures=False,
        fix_character_width=False,
        uncurl_quotes=False,
        fix_line_breaks=False,
        fix_surrogates=False,
        remove_control_chars=False,
        normalization=None,
        explain=False,
    )


def repair_mojibake(text: str) -> str:
    """``text`` with UTF-8 mis-decoded as cp1252/latin-1 re-decoded; unchanged unless it shows that trace."""
    if text.isascii() or not _MOJIBAKE_HINT.search(text):  # (isascii reads a flag of the string: no scan)
        return text
    import ftfy

    return ftfy.fix_encoding(text, cached_model("ftfy", "fix_encoding", lambda _: _mojibake_fixer_config()))


def clean_text(text: str, conf: NormalizeConfig) -> str:
    if conf.repair_mojibake:
        text = repair_mojibake(text)  # first: latin-1 mojibake holds C1 characters that the control clean-up removes
    text = unicodedata.normalize(conf.unicode_form, text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    if "  " in text or _ANY_OTHER_SPACE.search(text):
        text = _SPACES.sub(" ", text)
    if " \n" in text or "\n " in text:  # (no tab is left): most texts have nothing for the regex to do
        text = _TRAILING.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_RUNS.sub("\n" * (conf.max_blank_lines + 1), text)
    return text.strip()


def _converter(mode: str) -> Any:
    import opencc

    return cached_model("opencc", mode, lambda m: opencc.OpenCC(f"{m}.json" if not m.endswith(".json") else m))


def convert_chinese(text: str, mode: str) -> str:
    """Convert with an OpenCC configuration (``t2s``, ``tw2s``, ``hk2s``, ...), cached per process."""
    return _converter(mode).convert(text)


def is_chinese(text: str, conf: NormalizeConfig) -> bool:
    """Mostly Han letters and no Kana: Chinese by script evidence (Japanese pages always carry Kana)."""
    # Most pages: a flag of the string (ASCII) or one regex scan instead of counting every character's class.
    if text.isascii() or not HAN_CHAR.search(text):
        return False
    letters, han, kana = letter_han_kana_counts(text)
    if han == 0 or kana:
        return False
    return han / max(letters, 1) >= conf.min_han_share


def _changed_positions(text: str, converted: str) -> int:
    """Positions (up to the shorter length) where ``converted`` has another character than ``text``."""
    size = min(len(text), len(converted))
    return int(np.count_nonzero(code_points(text[:size]) != code_points(converted[:size])))


def chinese_script(
    text: str, simplified: str | None = None, mixed_share: float = NormalizeConfig.mixed_script_share
) -> str:
    """``simplified``, ``traditional`` or ``mixed``: which script-specific characters the text contains.

    Traditional-only characters change under t2s, simplified-only ones under s2t; characters common to both scripts
    change under neither, so a page of only common characters counts as simplified. s2t also rewrites a few common
    characters by context (才→纔, 了→瞭) and regional standards differ (Hong Kong writes 温), so a script counts as
    the page's own while the other one's characters stay under ``mixed_share`` of its own (conf
    ``normalize.mixed_script_share``). ``simplified`` is the text's t2s conversion when the caller has it already.
    """
    if simplified is None:
        simplified = _converter("t2s").convert(text)
    traditional_only = _changed_positions(text, simplified)
    if traditional_only == 0:
        return "simplified"
    simplified_only = _changed_positions(text, _converter("s2t").convert(text))
    if simplified_only <= mixed_share * traditional_only:
        return "traditional"
    if traditional_only <= mixed_share * simplified_only:
        return "simplified"
    return "mixed"


def normalize_batch(batch: pd.DataFrame, conf: NormalizeConfig) -> pd.DataFrame:
    """``text`` → cleaned ``text`` and ``zh_script`` for one batch (the ``normalize`` stage's work)."""
    texts: list[str] = []
    scripts: list[str | None] = []
    target = _converter(conf.opencc_mode) if conf.opencc_mode else None
    for raw in batch["text"]:
        text = clean_text(raw or "", conf)
        script = None
        if is_chinese(text, conf):
            simplified = _converter("t2s").convert(text)
            script = chinese_script(text, simplified, conf.mixed_script_share)
            if target is not None:  # also a "simplified" page's few traditional characters
                text = simplified if conf.opencc_mode == "t2s" else target.convert(text)
        texts.append(text)
        scripts.append(script)
    return pd.DataFrame({"text": texts, "zh_script": scripts})
