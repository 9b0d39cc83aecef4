"""Normalization on literal texts, and the OpenCC cases for the conversions the normalize stage can apply."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tests.conftest import FIXTURES
from udfs.errors import ConfigError
from udfs.normalize import (
    _MOJIBAKE_HINT,
    NormalizeConfig,
    chinese_script,
    clean_text,
    convert_chinese,
    is_chinese,
    normalize_batch,
    repair_mojibake,
)

CONF = NormalizeConfig()


def test_unicode_nfc_controls_and_whitespace() -> None:
    raw = "Cafe\u0301\u00a0\u00a0au\tlait\x07\u200b \r\nline two   \n\n\n\n\nlast\ufeff"
    assert clean_text(raw, CONF) == "Café au lait\nline two\n\n\nlast"


def test_ideographic_space_and_fullwidth_punctuation_survive() -> None:
    assert clean_text("第一段\u3000开头，结束。", CONF) == "第一段\u3000开头，结束。"


def test_chinese_by_script_evidence_but_never_japanese() -> None:
    assert is_chinese("这是一个中文句子。", CONF)
    assert not is_chinese("東京は日本の首都です。", CONF)  # Kana → Japanese
    assert not is_chinese("An English page citing 北京 once.", CONF)  # 2 Han of 26 letters < 0.3
    # 2 Han among 9 letters = 0.22: Chinese at min_han_share 0.2, not at the default 0.3
    assert is_chinese("北京 Beijing", NormalizeConfig(min_han_share=0.2))
    assert not is_chinese("北京 Beijing", CONF)


def test_batch_converts_traditional_and_records_the_script() -> None:
    texts = ["馬克·吐溫名言\r\n不要放棄你的幻想。", "马克·吐温的名言", "漢字和汉字", "日本語のテキスト", "plain"]
    batch = pd.DataFrame({"text": texts})
    result = normalize_batch(batch, CONF)
    assert result["text"].tolist() == [
        "马克·吐温名言\n不要放弃你的幻想。",
        "马克·吐温的名言",
        "汉字和汉字",
        "日本語のテキスト",
        "plain",
    ]
    assert result["zh_script"].tolist() == ["traditional", "simplified", "mixed", None, None]


def test_conversion_can_be_switched_off() -> None:
    result = normalize_batch(pd.DataFrame({"text": ["不要放棄你的幻想"]}), NormalizeConfig(opencc_mode=None))
    assert result.loc[0, "text"] == "不要放棄你的幻想" and result.loc[0, "zh_script"] == "traditional"


def test_bad_mode_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^normalize\.opencc_mode:"):
        NormalizeConfig.from_dict({"opencc_mode": "x2y"}, "normalize")


def _opencc_cases() -> list[tuple[str, str, str]]:
    raw = (FIXTURES / "opencc" / "opencc_testcases.json").read_text(encoding="utf-8")
    data = json.loads(re.sub(r",(\s*[}\]])", r"\1", raw))  # the upstream file has trailing commas
    return [
        (mode, case["input"], expected)
        for case in data["cases"]
        for mode, expected in case["expected"].items()
        if mode in ("t2s", "tw2s", "hk2s")
    ]


CASES = _opencc_cases()


def test_the_fixture_has_the_expected_number_of_cases() -> None:
    assert len(CASES) == 55 + 32 + 21


@pytest.mark.parametrize(("mode", "text", "expected"), CASES, ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(CASES)])
def test_opencc_cases(mode: str, text: str, expected: str) -> None:
    assert convert_chinese(text, mode) == expected


# Literal mojibake: UTF-8 bytes decoded as cp1252 (Windows) or latin-1 (ISO-8859-1), as found on web pages.
MOJIBAKE = [
    ("The cafÃ© serves crÃ¨me brÃ»lÃ©e â€“ itâ€™s â€œgreatâ€\x9d.", "The café serves crème brûlée – it’s “great”."),
    ("Le cafÃ© est dÃ©jÃ\xa0 prÃªt, lâ€™Ã©tÃ© arrive.", "Le café est déjà prêt, l’été arrive."),
    ("Good text, then one bad piece: donâ€™t stop", "Good text, then one bad piece: don’t stop"),
    ("ä¸\xadæ\x96\x87ç½\x91é¡µ", "中文网页"),  # latin-1: the C1 bytes survive as U+0080-U+009F
    (
        "å\x8c\x97äº¬æ\x98¯ä¸\xadå\x8d\x8eäººæ°\x91å\x85±å\x92\x8cå\x9b½ç\x9a\x84é¦\x96é\x83½ã\x80\x82",
        "北京是中华人民共和国的首都。",
    ),
]
CLEAN = [
    "Il a dit «café» et «thé» à l'été.",  # é» looks like a lead and a continuation byte: ftfy leaves it
    "naïve résumé Ångström — Ça coûte 5 €… “quoted”",
    "Straße, Übermäßig, ÄÖÜ äöü; Ærø Ørsted",
    "&amp; stays escaped, ﬁ stays a ligature, ＡＢＣ stays full-width",
    "北京是中华人民共和国的首都。東京は日本の首都です。",
    "Москва — столица России.",
]


@pytest.mark.parametrize(("broken", "fixed"), MOJIBAKE, ids=["en-cp1252", "fr-cp1252", "en-partial", "zh-1", "zh-2"])
def test_mojibake_is_repaired(broken: str, fixed: str) -> None:
    assert _MOJIBAKE_HINT.search(broken)
    assert repair_mojibake(broken) == fixed
    assert clean_text(broken, CONF) == fixed


@pytest.mark.parametrize("text", CLEAN)
def test_clean_text_is_untouched_by_the_repair(text: str) -> None:
    assert repair_mojibake(text) == text
    assert clean_text(text, CONF) == clean_text(text, NormalizeConfig(repair_mojibake=False))


def test_only_text_with_the_trace_reaches_ftfy() -> None:
    assert [bool(_MOJIBAKE_HINT.search(text)) for text in CLEAN] == [True, False, False, False, False, False]


def test_mojibake_repair_can_be_switched_off() -> None:
    broken, _ = MOJIBAKE[0]
    assert clean_text(broken, NormalizeConfig(repair_mojibake=False)) == broken.replace("\x9d", "")


def test_hong_kong_text_with_context_dependent_characters_is_traditional() -> None:
    # s2t rewrites 才→纔 and 了→瞭, and Hong Kong writes 温: a few such characters do not make a page mixed.
    hong_kong = "揚子鱷的體溫會隨環境温度變化，到了冬天纔會進入冬眠，所以牠們才能熬過寒冷的季節。"
    assert chinese_script(hong_kong) == "traditional"
    assert chinese_script("这是简体中文的句子，這是繁體中文的句子。") == "mixed"
