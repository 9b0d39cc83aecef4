"""Chinese rules: count characters, not words. Han character minimum (WuDao), stop-word coverage, ad/spam lines.

Chinese web spam hides ads inside otherwise normal pages: a gambling or pharmacy line, an SEO keyword list, a
"加QQ/微信" contact line. Those lines are removed (the count is kept in ``zh_ad_lines_removed``); when they are a
large share of the page, the page itself is spam and is dropped (``zh:ad_lines``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from udfs.quality.lists import bigscience_stopwords
from udfs.quality.text import HAN_CHAR, count_matches, safe_ratio
from udfs.scripts import HAN

# Words that are an ad on their own (lottery/casino jargon, sex-drug slang, fake documents) ...
_AD_WORDS = (
    "百家乐|时时彩|六合彩|北京赛车|pk10|真人荷官|真人视讯|开户送|注册送|彩金|返水|首存|葡京娱乐|威尼斯人娱乐|"
    "太阳城娱乐|金沙娱乐|皇冠体育|博狗|伟哥|壮阳|催情|春药|迷药|办证|代开发票|发票代开|假文凭|代考"
)
# ... and words that also occur in news or encyclopedia prose (a casino, surrogacy, a seal-carving shop): an ad only
# in a line that also sells (contact, price, sign-up, download).
_TOPIC_WORDS = (
    "博彩|赌场|赌博|赌球|娱乐城|老虎机|投注|下注|棋牌|代孕|减肥药|包治百病|祖传秘方|刻章|私服|外挂|万艾可|性药"
)
_SELLING = (
    "QQ|qq|微信|电话|热线|网址|官网|点击|咨询|货到付款|专卖|批发|优惠|开户|注册|下载|平台|招商|代理|提款|充值|赔率"
)
_CONTACT = (
    r"(?:加|添加|联系|咨询|扫码加)\s*(?:QQ|qq|Q群|微信|V信|薇信|威信|vx|VX|wx|WX)"
    r"|(?:QQ|qq|微信|V信|薇信|威信|vx|VX|wx|WX)\s*(?:号|群)?\s*[:：]\s*[A-Za-z0-9_-]{5,}"
    r"|(?:QQ|qq)\s*\d{5,}"
)
_AD_LINE = re.compile(f"(?:{_AD_WORDS}|{_CONTACT})", re.IGNORECASE)
_TOPIC = re.compile(_TOPIC_WORDS)
_SELLS = re.compile(_SELLING)
# SEO keyword stuffing ("上海装修公司 北京装修公司 广州装修公司 …"): a line of at least 4 short segments (between
# spaces, commas, 、, |, /) of at most 8 characters on average, three in four of them sharing a Han 2-gram. Prose
# repeats words too ("这本书…这本书…这本书"), but in clauses, not in lists of keywords: measured on 400 real
# product reviews (tests/fixtures/dedup/zh_reviews.txt), no line qualifies.
_SEGMENT_SEPARATORS = re.compile(r"[\s,，、|｜/_;；·•—-]+")
_HAN_PAIR = re.compile(f"[{HAN}]{{2}}")
_MAX_STUFFING_LINE = 300
_MIN_STUFFING_SEGMENTS = 4
_MAX_STUFFING_SEGMENT_CHARS = 8
_MIN_STUFFING_SHARE = 0.75


def is_keyword_stuffing(line: str) -> bool:
    if len(line) > _MAX_STUFFING_LINE:
        return False
    segments = [segment for segment in _SEGMENT_SEPARATORS.split(line) if segment]
    if len(segments) < _MIN_STUFFING_SEGMENTS or sum(map(len, segments)) > _MAX_STUFFING_SEGMENT_CHARS * len(segments):
        return False
    shared: Counter[str] = Counter()
    for segment in segments:
        shared.update({segment[i : i + 2] for i in range(len(segment) - 1) if _HAN_PAIR.fullmatch(segment, i, i + 2)})
    return bool(shared) and shared.most_common(1)[0][1] >= _MIN_STUFFING_SHARE * len(segments)


def is_ad_line(line: str) -> bool:
    if _AD_LINE.search(line) is not None:
        return True
    if _TOPIC.search(line) is not None and _SELLS.search(line) is not None:
        return True
    return is_keyword_stuffing(line)


def remove_ad_lines(texts: Sequence[str], chinese: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(texts without ad lines, lines removed, share of non-empty lines removed); only ``chinese`` docs change."""
    out = list(texts)
    removed = np.zeros(len(texts), dtype=np.int64)
    ratio = np.full(len(texts), np.nan)
    for i in np.flatnonzero(chinese):
        lines = texts[i].split("\n")
        ads = [is_ad_line(line) for line in lines]
        n_ads = sum(ads)
        non_empty = sum(1 for line in lines if line.strip())
        removed[i] = n_ads
        ratio[i] = n_ads / non_empty if non_empty else 0.0
        if n_ads:
            out[i] = "\n".join(line for line, ad in zip(lines, ads, strict=True) if not ad)
    return out, removed, ratio


@lru_cache(maxsize=4)
def _stopword_pattern(lang: str) -> re.Pattern[str] | None:
    words = sorted({w for w in bigscience_stopwords(lang) if HAN_CHAR.search(w)}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words))) if words else None


def han_chars(texts: Sequence[str]) -> np.ndarray:
    return count_matches(HAN_CHAR, texts)


def stopword_ratio(texts: Sequence[str], han: np.ndarray, lang: str = "zh") -> np.ndarray:
    """Share of Han characters inside bigscience stop words (longest match first; no segmenter needed)."""
    pattern = _stopword_pattern(lang)
    if pattern is None:
        return np.full(len(texts), np.nan)
    covered = np.fromiter((sum(map(len, pattern.findall(t))) for t in texts), dtype=np.float64, count=len(texts))
    return safe_ratio(covered, han)


def tag_chinese(page: Sequence[str], kept: Sequence[str], chinese: np.ndarray) -> dict[str, np.ndarray]:
    """Han characters of the ``kept`` text and stop-word coverage of the ``page`` for ``chinese`` docs (NaN
    elsewhere: the rules do not apply)."""
    n = len(kept)
    han = np.full(n, np.nan)
    ratio = np.full(n, np.nan)
    index = np.flatnonzero(chinese)
    if len(index):
        han[index] = han_chars([kept[i] for i in index])
        pages = [page[i] for i in index]
        ratio[index] = stopword_ratio(pages, han_chars(pages))
    return {"zh_chars": han, "zh_stopword_ratio": ratio}
