"""PII replacement: datatrove's e-mail/IP cases, our Chinese cases, and precision cases that must survive."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
import yaml

from tests.conftest import FIXTURES
from udfs.errors import ConfigError
from udfs.pii import (
    COUNT_COLUMNS,
    PiiConfig,
    card_number_valid,
    redact_batch,
    redact_text,
    resident_id_valid,
)

PII = FIXTURES / "pii"
CONF = PiiConfig()
ALL_DETECTORS = ("email", "ip", "phone_intl", "phone_cn", "id_cn", "card", "ssn")
EVERYTHING = PiiConfig(detectors={"default": ALL_DETECTORS})


def _fixture(name: str) -> tuple[str, str]:
    return (PII / f"{name}_TEST_INPUT.txt").read_text(encoding="utf-8"), (PII / f"{name}_TEST_OUTPUT.txt").read_text(
        encoding="utf-8"
    )


# ---------------------------------------------------------------------------------------------------------------
# datatrove's cases (their test replaces with the bare words EMAIL and IP)
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["EMAIL", "IP"])
def test_datatrove_cases_with_their_replacement_words(name: str) -> None:
    text, expected = _fixture(name)
    conf = PiiConfig(placeholders={"email": "EMAIL", "ip": "IP"})
    result = redact_batch(pd.Series([text]), pd.Series(["en"]), conf)
    assert result.loc[0, "text"] == expected


def test_datatrove_cases_with_our_placeholders_and_counts() -> None:
    email_in, email_out = _fixture("EMAIL")
    ip_in, ip_out = _fixture("IP")
    result = redact_batch(pd.Series([email_in, ip_in]), pd.Series(["en", "zh"]), CONF)
    assert result.loc[0, "text"] == email_out.replace("EMAIL", "<EMAIL>")
    assert result.loc[1, "text"] == re.sub(r"(?m)(?<![A-Za-z])IP$", "<IP>", ip_out)
    assert result["pii_email"].tolist() == [26, 0]  # the EMAIL words in datatrove's expected output
    assert result["pii_ip"].tolist() == [0, 11]  # ten public IPs and ".3.3.3.0"
    assert result[["pii_phone", "pii_id_number", "pii_card_number", "pii_ssn"]].to_numpy().sum() == 0


# ---------------------------------------------------------------------------------------------------------------
# Recall: Chinese and international cases
# ---------------------------------------------------------------------------------------------------------------

ZH_CASES = [
    ("联系邮箱zhangsan@163.com，欢迎来信。", "联系邮箱<EMAIL>，欢迎来信。"),
    ("手机：13812345678（微信同号）", "手机：<PHONE>（微信同号）"),
    ("请拨打 138-1234-5678 或 139 1234 5678", "请拨打 <PHONE> 或 <PHONE>"),
    ("+86 138 1234 5678 / 8613912345678", "<PHONE> / <PHONE>"),
    ("客服热线：010-62345678，深圳办公室 (0755)86013388", "客服热线：<PHONE>，深圳办公室 <PHONE>"),
    ("总机 0571-87654321-806", "总机 <PHONE>"),
    ("身份证号：11010519491231002X。", "身份证号：<ID_NUMBER>。"),
    ("证件号码440308199901011234，310115200012314568", "证件号码<ID_NUMBER>，<ID_NUMBER>"),
    ("银联卡号 6222021234567894，Visa 4111-1111-1111-1111", "银联卡号 <CARD_NUMBER>，Visa <CARD_NUMBER>"),
    ("服务器地址 114.35.103.54，IPv6 2400:cb00:2048:1::6ca2:c665", "服务器地址 <IP>，IPv6 <IP>"),
]


@pytest.mark.parametrize(("text", "expected"), ZH_CASES)
def test_chinese_pii_is_replaced(text: str, expected: str) -> None:
    assert redact_text(text, CONF, "zh") == expected


EN_CASES = [
    ("Call +1 (415) 555-2671 or +44 20 7946 0958.", "Call <PHONE> or <PHONE>."),
    ("Mail NAME@Example.COM today", "Mail <EMAIL> today"),
    ("Amex 3782 822463 10005, MC 5500 0000 0000 0004", "Amex <CARD_NUMBER>, MC <CARD_NUMBER>"),
    ("resolver 8.8.8.8. and 2606:4700:4700::1111", "resolver <IP>. and <IP>"),
    ("Chinese ID 11010519491231002X on an English page", "Chinese ID <ID_NUMBER> on an English page"),
    ("Call (206) 555-0143, 206-555-0143 or 206.555.0143.", "Call <PHONE>, <PHONE> or <PHONE>."),
]


@pytest.mark.parametrize(("text", "expected"), EN_CASES)
def test_english_pii_is_replaced(text: str, expected: str) -> None:
    assert redact_text(text, CONF, "en") == expected


def test_counts_per_document_and_kind_never_values() -> None:
    texts = pd.Series(["a@b.com c@d.org 13812345678", None, "nothing here", "4111 1111 1111 1111 8.8.8.8"])
    result = redact_batch(texts, pd.Series(["zh", "zh", "en", "en"], index=texts.index), CONF)
    assert list(result.columns) == ["text", *COUNT_COLUMNS.values()]
    assert result["pii_email"].tolist() == [2, 0, 0, 0]
    assert result["pii_phone"].tolist() == [1, 0, 0, 0]
    assert result["pii_card_number"].tolist() == [0, 0, 0, 1]
    assert result["pii_ip"].tolist() == [0, 0, 0, 1]
    assert result["text"].tolist() == ["<EMAIL> <EMAIL> <PHONE>", None, "nothing here", "<CARD_NUMBER> <IP>"]
    assert all(str(dtype) == "int64" for dtype in result.dtypes.iloc[1:])


# ---------------------------------------------------------------------------------------------------------------
# Precision: what must survive, with every detector on (SSN included)
# ---------------------------------------------------------------------------------------------------------------

SURVIVORS = [
    "会议定于2023-10-01召开，2023年10月1日报到，截止 2023/10/01 12:30:45。",
    "价格 ¥1,299.00，原价 $13,800,000.00，优惠 -15%，涨幅 +3.5%。",
    "Released version 1.2.3.4, then v2.0.0.1 and build 10.0.19041.1; 版本 3.1.0.2; semver 1.2.3.4.5",
    "ISBN 978-7-111-54742-6, ISBN 978-0-306-40615-7, ISBN-13 9780306406157",
    "订单号 202310011234567890，快递单号 SF1234567890123，流水号 20231001000012345678",
    "Order #4012888888881882 (Luhn fails), ref 1234 5678 9012 3456",
    "IDs 110105194912310021 (bad check char), 110105194913310021 (month 13), 110105209912310010 (born 2099)",
    "Timestamp 1696118400000 ms, 1696118400 s, MAC 00:1a:2b:3c:4d:5e, std::vector, C++ a::b",
    "Private 10.0.0.1, 192.168.1.1, 172.16.0.4, loopback 127.0.0.1, docs 2001:db8::1, link fe80::1",
    "SSNs never issued: 000-12-3456, 666-12-3456, 923-45-6789, 123-00-4567, 123-45-0000",
    "+7 123 45 and +1 555 (too short for a phone), 2023-1001234, 12345678901234567890",
    "Scores 300.1.2.3, 01.2.3.4 and 1.2.3",
]


@pytest.mark.parametrize("text", SURVIVORS)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_look_alikes_survive(text: str, lang: str) -> None:
    assert redact_text(text, EVERYTHING, lang) == text


# ---------------------------------------------------------------------------------------------------------------
# Both sides of each validator
# ---------------------------------------------------------------------------------------------------------------


def test_resident_id_checksum_and_birth_date() -> None:
    today = dt.date(2026, 1, 1)
    assert resident_id_valid("11010519491231002X", today)
    assert resident_id_valid("11010519491231002x", today)
    assert not resident_id_valid("110105194912310021", today)  # wrong check character
    assert not resident_id_valid("110105194902300029", today)  # 30 February
    assert resident_id_valid("11010520251231001X", today)
    assert not resident_id_valid("110105202601020014", today)  # born after "today"
    assert not resident_id_valid("91010519491231002X", today)  # no province starts with 9


def test_card_luhn_prefix_and_grouping() -> None:
    assert card_number_valid("4111111111111111")
    assert not card_number_valid("4111111111111112")  # Luhn
    assert card_number_valid("4111 1111 1111 1111")
    assert not card_number_valid("4111 1111-1111 1111")  # mixed separators
    assert not card_number_valid("41 1111 1111 1111 11")  # not card grouping
    assert not card_number_valid("9780306406157")  # ISBN-13: valid Luhn? no issuer starts with 9
    assert card_number_valid("378282246310005") and card_number_valid("3782 822463 10005")
    assert not card_number_valid("0000000000000000")


def test_ip_version_context_both_sides() -> None:
    assert redact_text("host 1.2.3.4 is up", CONF) == "host <IP> is up"
    assert redact_text("version 1.2.3.4 is up", CONF) == "version 1.2.3.4 is up"
    assert redact_text("v1.2.3.4", CONF) == "v1.2.3.4"


def test_intl_phone_digit_count_both_sides() -> None:
    assert redact_text("tel +49 30 1234567", CONF) == "tel <PHONE>"  # 11 digits
    assert redact_text("tel +49 30 123", CONF) == "tel +49 30 123"  # 7 digits
    assert redact_text("+1234567890123456", CONF) == "+1234567890123456"  # 16 digits: above E.164


def test_mobile_and_landline_both_sides() -> None:
    assert redact_text("电话13812345678", CONF, "zh") == "电话<PHONE>"
    assert redact_text("编号138123456789", CONF, "zh") == "编号138123456789"  # 12 digits
    assert redact_text("编号12812345678", CONF, "zh") == "编号12812345678"  # 12x is no mobile prefix
    assert redact_text("电话 021-62345678", CONF, "zh") == "电话 <PHONE>"
    assert redact_text("编码 02162345678", CONF, "zh") == "编码 02162345678"  # landline needs its separator
    assert redact_text("电话 021-02345678", CONF, "zh") == "电话 021-02345678"  # local numbers never start with 0


def test_per_language_detectors() -> None:
    text = "电话13812345678"
    assert redact_text(text, CONF, "zh") == "电话<PHONE>"
    assert redact_text(text, CONF, "en") == text  # phone_cn is only on for Chinese by default
    assert redact_text(text, CONF, None) == text
    ssn = "SSN 078-05-1120"
    assert redact_text(ssn, CONF, "en") == ssn  # off by default
    with_ssn = PiiConfig(detectors={"default": ("email",), "en": ("ssn",)})
    assert redact_text(ssn, with_ssn, "en") == "SSN <SSN>"
    assert redact_text(ssn, with_ssn, "fr") == ssn


def test_north_american_numbers_both_sides() -> None:
    assert redact_text("Office: (312) 555-0178", CONF, "en") == "Office: <PHONE>"
    for text in ("ref 123-456-7890", "code 206-055-0143", "mixed 206-555.0143", "serial 206-555-01434",
                 "part 1-206-555-0143-7", "range 2023-2024"):  # fmt: skip
        assert redact_text(text, CONF, "en") == text
    assert redact_text("Office: (312) 555-0178", CONF, "de") == "Office: (312) 555-0178"  # English pages only


def test_custom_placeholder() -> None:
    conf = PiiConfig(placeholders={"email": "[mail]"})
    assert redact_text("a@b.com 8.8.8.8", conf) == "[mail] <IP>"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"detectors": {"zh": ["email"]}}, r"^pii\.detectors\.default: required"),
        ({"detectors": {"default": ["passport"]}}, r"^pii\.detectors\.default: unknown detector 'passport'"),
        ({"placeholders": {"name": "<NAME>"}}, r"^pii\.placeholders\.name: unknown kind"),
        ({"placeholders": {"email": ""}}, r"^pii\.placeholders\.email: must not be empty"),
        ({"max_replacements": -1}, r"^pii\.max_replacements:"),
    ],
)
def test_conf_errors_name_the_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PiiConfig.from_dict(data, "pii")


def test_conf_file_equals_code_defaults() -> None:
    with open("conf/pii.yaml", encoding="utf-8") as handle:
        assert PiiConfig.from_dict(yaml.safe_load(handle)["pii"], "pii") == PiiConfig()
