"""Unicode character classes shared by the text rules — the one definition of each script's code points
(``SCRIPT_RANGES``), as regex character-class bodies (``f"[{HAN}]"``) and as per-code-point lookup tables for the
classes that vectorized code tests on arrays. Language ID, the quality rules, normalization and MinHash shingling
all read their Han/Kana/Hangul ranges from here.

Han: CJK Unified Ideographs, Extension A, the Compatibility Ideographs, and planes 2 and 3 (Extensions B to I and
the compatibility supplement: those two planes hold nothing else). Kana: Hiragana, Katakana, the Katakana phonetic
extensions and half-width Katakana: their presence is what tells Japanese from Chinese.

The tables are built lazily, once per Python worker, from the same regular expressions the rules use elsewhere
(``\\w``, ``[^\\W\\d_]``), so an array lookup and a regex always agree on what a word character or a letter is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

import numpy as np

# Inclusive code-point ranges of the letters of each script (only letters are counted where a rule counts script
# letters: udfs.langid picks them out first).
SCRIPT_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "kana": ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)),
    "hangul": ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF)),
    "han": ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF)),
    "thai": ((0x0E00, 0x0E7F),),
    "greek": ((0x0370, 0x03FF), (0x1F00, 0x1FFF)),
    "cyrillic": ((0x0400, 0x052F), (0x1C80, 0x1C8F), (0x2DE0, 0x2DFF), (0xA640, 0xA69F)),
    "arabic": ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF)),
    "hebrew": ((0x0590, 0x05FF), (0xFB1D, 0xFB4F)),
    "devanagari": ((0x0900, 0x097F), (0xA8E0, 0xA8FF)),
    "latin": ((0x0041, 0x005A), (0x0061, 0x007A), (0x00C0, 0x024F), (0x1E00, 0x1EFF)),
}
CJK_OTHER_RANGES: tuple[tuple[int, int], ...] = ((0x2E80, 0x2FDF), (0x3100, 0x312F), (0x3190, 0x31EF))
"""CJK characters of no one script: radicals, Bopomofo, Kanbun and strokes (counted by MinHash's CJK share)."""


def character_class(ranges: tuple[tuple[int, int], ...]) -> str:
    """The body of a regex character class (``f"[{body}]"``) matching ``ranges``."""
    return "".join(f"{chr(low)}-{chr(high)}" for low, high in ranges)


HAN = character_class(SCRIPT_RANGES["han"])
HAN_CHAR = re.compile(f"[{HAN}]")
KANA = character_class(SCRIPT_RANGES["kana"])
CJK = HAN + KANA

UNICODE_SIZE = 0x110000


@cache
def code_point_table(pattern: str) -> np.ndarray:
    """Boolean table over every code point: does the one-character regex ``pattern`` match it.

    Built from the runs of matches in a string of all code points: Unicode classes come in long contiguous blocks,
    so this is one C-level scan (~30 ms) instead of a million Python calls.
    """
    table = np.zeros(UNICODE_SIZE, dtype=bool)
    everything = np.arange(UNICODE_SIZE, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    for run in re.finditer(f"(?:{pattern})+", everything):
        table[run.start() : run.end()] = True
    return table


def word_char_table() -> np.ndarray:
    """Regex ``\\w`` per code point (letters, digits, numerics and "_")."""
    return code_point_table(r"\w")


def letter_table() -> np.ndarray:
    """Regex ``[^\\W\\d_]`` per code point: a word character that is neither a decimal digit nor "_"."""
    return code_point_table(r"[^\W\d_]")


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as a uint32 array (lone surrogates kept as themselves)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def per_text_counts(texts: Sequence[str], table: np.ndarray, classes: int) -> np.ndarray:
    """``(len(texts), classes)`` counts of each text's characters per class of ``table`` (a class number per code
    point, below ``classes``), from one lookup over the batch's code points instead of one per text."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    codes = table[code_points("".join(texts))].astype(np.int64)
    codes += np.repeat(np.arange(len(texts), dtype=np.int64) * classes, lengths)
    return np.bincount(codes, minlength=len(texts) * classes).reshape(len(texts), classes)


def in_ranges(points: np.ndarray, ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Per code point of ``points``: does it fall in one of ``ranges``."""
    inside = np.zeros(points.shape, dtype=bool)
    for low, high in ranges:
        inside |= (points >= low) & (points <= high)
    return inside


@cache
def cjk_table() -> np.ndarray:
    """Boolean table over every code point: Han or Kana (the ``CJK`` character class)."""
    table = np.zeros(UNICODE_SIZE, dtype=bool)
    for low, high in SCRIPT_RANGES["han"] + SCRIPT_RANGES["kana"]:
        table[low : high + 1] = True
    return table


_LETTER_BIT, _HAN_BIT, _KANA_BIT = 1, 2, 4
_CLASSES = np.arange(8)


@cache
def _cjk_class_table() -> np.ndarray:
    """Per code point, bits: letter (``[^\\W\\d_]``), Han (``[HAN]``), Kana (``[KANA]``)."""
    table = letter_table().astype(np.uint8) * _LETTER_BIT
    table |= code_point_table(f"[{HAN}]").astype(np.uint8) * _HAN_BIT
    table |= code_point_table(f"[{KANA}]").astype(np.uint8) * _KANA_BIT
    return table


def letter_han_kana_counts(text: str) -> tuple[int, int, int]:
    """How many characters of ``text`` are letters, Han characters and Kana (one table lookup per character)."""
    counts = np.bincount(_cjk_class_table()[code_points(text)], minlength=len(_CLASSES))
    letters, han, kana = (int(counts[(_CLASSES & bit) > 0].sum()) for bit in (_LETTER_BIT, _HAN_BIT, _KANA_BIT))
    return letters, han, kana
