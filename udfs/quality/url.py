"""URL filter: blocked domains (a host blocks its sub-domains) and banned URL words/substrings.

Like datatrove's URL filter and the block-lists FineWeb/RefinedWeb used, but with a small starter list; production
runs add full lists through ``quality.url.blocklist_files``. Words are matched as whole URL tokens (split on
non-alphanumerics) because short words occur inside innocent names ("sex" in "essex").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from udfs.quality.lists import BUNDLED_URL_BLOCKLIST, url_blocklist

if TYPE_CHECKING:
    from udfs.quality.config import UrlConfig
    from udfs.quality.rules import Documents

_TOKEN = re.compile(r"[a-z0-9]+")


def _lists(conf: UrlConfig) -> tuple[frozenset[str], frozenset[str], tuple[str, ...]]:
    paths = ((BUNDLED_URL_BLOCKLIST,) if conf.use_bundled_list else ()) + tuple(conf.blocklist_files)
    lists = url_blocklist(paths)
    domains = lists["domain"] | {d.lower() for d in conf.blocked_domains}
    words = lists["word"] | {w.lower() for w in conf.banned_words}
    return domains, words, tuple(sorted(lists["substring"]))


def host_of(url: str) -> str:
    rest = url.split("://", 1)[-1]
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    return host.lower().strip(".")


def _blocked_host(host: str, domains: frozenset[str]) -> bool:
    parts = host.split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts)))


def tag_urls(docs: Documents, conf: UrlConfig, rows: np.ndarray) -> dict[str, np.ndarray]:
    """``url_blocked`` (host or a parent domain listed) and ``url_banned`` (a banned word/substring) per URL."""
    return url_flags(docs.urls, conf)


def url_flags(urls: Sequence[str | None], conf: UrlConfig) -> dict[str, np.ndarray]:
    domains, words, substrings = _lists(conf)
    lowered = [(u or "").lower() for u in urls]
    blocked = np.fromiter((_blocked_host(host_of(u), domains) for u in lowered), dtype=bool, count=len(lowered))
    substring_re = re.compile("|".join(map(re.escape, substrings))) if substrings else None
    banned = np.fromiter(
        (
            (substring_re is not None and substring_re.search(u) is not None)
            or not words.isdisjoint(_TOKEN.findall(u))
            for u in lowered
        ),
        dtype=bool,
        count=len(lowered),
    )
    return {"url_blocked": blocked, "url_banned": banned}
