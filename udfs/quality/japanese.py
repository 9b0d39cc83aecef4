"""Japanese rules. Hiragana carries Japanese grammar (particles, verb endings), so running Japanese prose is about a
third hiragana; a page labelled ``ja`` with next to none is a product list, a keyword dump or machine output."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from udfs.quality.config import RuleFamily
    from udfs.quality.rules import Documents

_HIRAGANA = re.compile("[\u3041-\u309f]")


def hiragana_share(docs: Documents, conf: RuleFamily, rows: np.ndarray) -> dict[str, np.ndarray]:
    """``ja_hiragana_share``: hiragana / non-space characters of the page, for ``rows`` (NaN elsewhere and for a
    page without characters)."""
    share = np.full(docs.size, np.nan)
    for i in np.flatnonzero(rows):
        chars = sum(map(len, docs.page[i].split()))
        if chars:
            share[i] = len(_HIRAGANA.findall(docs.page[i])) / chars
    return {"ja_hiragana_share": share}
