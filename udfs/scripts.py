"""Unicode character classes shared by the text rules: the CJK ranges as regex character-class bodies
(``f"[{HAN}]"``), and per-code-point lookup tables for the classes that vectorized code tests on arrays.

Han: CJK Unified Ideographs, Extension A and the Compatibility Ideographs (the BMP blocks web text uses). Kana:
Hiragana, Katakana and the Katakana phonetic extensions: their presence is what tells Japanese from Chinese.

The tables are built lazily, once per Python worker, from the same regular expressions the rules use elsewhere
(``\\w``, ``[^\\W\\d_]``), so an array lookup and a regex always agree on what a word character or a letter is.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
KANA = "\u3040-\u30ff\u31f0-\u31ff"
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
