"""FineWeb's own filters (Penedo et al. 2024, datatrove FineWebQualityFilter): share of lines ending in terminal
punctuation, share of short lines, characters in repeated lines, and newlines per word (list-like pages)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from udfs.quality.text import CJK_TERMINAL_PUNCT, TERMINAL_PUNCT, per_doc_sum, safe_ratio

if TYPE_CHECKING:
    from udfs.quality.config import FineWebConfig
    from udfs.quality.rules import Documents


def tag_fineweb(docs: Documents, conf: FineWebConfig, rows: np.ndarray) -> dict[str, np.ndarray]:
    texts, cjk, lines, words = docs.page, docs.cjk, docs.lines, docs.words
    short_line_chars = np.array([conf.value("short_line_chars", lang) or 0 for lang in docs.langs], dtype=np.int64)
    n = len(texts)
    line_cjk = cjk[lines.doc]
    terminal = lines.ends_with(line_cjk, {False: TERMINAL_PUNCT, True: CJK_TERMINAL_PUNCT})
    short = lines.length <= short_line_chars[lines.doc]
    repeated = lines.repeated()
    repeated_chars = per_doc_sum(lines.doc[repeated], lines.length[repeated], n)
    chars_no_newline = np.fromiter((len(t) - t.count("\n") for t in texts), dtype=np.float64, count=n)
    newlines = np.fromiter((t.count("\n") for t in texts), dtype=np.float64, count=n)
    return {
        "fw_line_punct_ratio": safe_ratio(np.bincount(lines.doc[terminal], minlength=n), lines.per_doc),
        "fw_short_line_ratio": safe_ratio(np.bincount(lines.doc[short], minlength=n), lines.per_doc),
        "fw_char_dup_ratio": safe_ratio(repeated_chars, chars_no_newline),
        "fw_newline_word_ratio": safe_ratio(newlines, words.per_doc),
    }
