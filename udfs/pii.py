"""PII replacement over batches: typed placeholders (``<EMAIL>``, ``<PHONE>``, ...) and per-document counts.

Each detector is a candidate regex plus a validator (checksum, Luhn, ``ipaddress`` category, context), so that
precision does not rest on the regex alone: dates, prices, version numbers, ISBNs and order numbers share the
regexes' digits but fail the validators. Detectors run one after the other (e-mail first, so ``a@1.2.3.4`` is one
e-mail, not an IP), each over the whole batch:

1. a cheap superset pattern is matched by Arrow's compute kernels (RE2, C++) over the whole column, and
2. only the documents it flags go through Python ``re.sub`` with a validating callback.

Most web pages contain no e-mail, no IP and no card-like digit run, so step 2 touches a small share of the batch.
The replaced values are never returned; only how many of each kind were replaced (``pii_*`` columns).

References for the rules: datatrove's ``PIIFormatter`` (e-mail regex, public-IP check via ``ipaddress``), GB 11643
(resident ID checksum, ISO 7064 MOD 11-2), ISO/IEC 7812 (Luhn, card prefixes), E.164 (at most 15 digits),
SSA's SSN rules (no 000/666/9xx area, no 00 group, no 0000 serial).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from udfs.errors import ConfigError

# Detector name → the kind it counts as (one count column and one placeholder per kind).
DETECTOR_KIND: dict[str, str] = {
    "email": "email",
    "ip": "ip",
    "phone_intl": "phone",
    "phone_cn": "phone",
    "phone_nanp": "phone",
    "id_cn": "id_number",
    "card": "card_number",
    "ssn": "ssn",
}
# Run order: e-mails before IPs (an address may end in an IP literal); IDs before cards and phones (an 18-digit
# ID must not be half-eaten by another detector); cards before phones (a card's 4-digit groups look like a phone).
DETECTOR_ORDER: tuple[str, ...] = ("email", "id_cn", "card", "ssn", "phone_intl", "phone_cn", "phone_nanp", "ip")
KINDS: tuple[str, ...] = ("email", "phone", "ip", "id_number", "card_number", "ssn")
COUNT_COLUMNS: dict[str, str] = {kind: f"pii_{kind}" for kind in KINDS}


def _default_detectors() -> dict[str, tuple[str, ...]]:
    common = ("email", "ip", "phone_intl", "id_cn", "card")
    return {"default": common, "zh": (*common, "phone_cn"), "en": (*common, "phone_nanp")}


def _default_placeholders() -> dict[str, str]:
    return {kind: f"<{kind.upper()}>" for kind in KINDS}


@dataclass(frozen=True)
class PiiConfig:
    """``pii.*`` in conf."""

    enabled: bool = True
    """Run the stage (replace PII in ``text`` and add the ``pii_*`` count columns)."""
    detectors: dict[str, tuple[str, ...]] = field(default_factory=_default_detectors)
    """Detectors applied per document language (``lang``); ``default`` for languages not listed. Names: email,
    ip, phone_intl, phone_cn, phone_nanp (US/Canada without +1), id_cn, card, ssn (US SSN, off unless listed)."""
    placeholders: dict[str, str] = field(default_factory=_default_placeholders)
    """Replacement text per kind (email, phone, ip, id_number, card_number, ssn); kinds not listed keep the default."""
    max_replacements: int | None = None
    """Reject a document (``pii:too_many``) when more than this many values were replaced; null never rejects."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: str) -> PiiConfig:
        from udfs.config import dataclass_from_dict

        return dataclass_from_dict(cls, data, path)

    def validate(self, path: str) -> None:
        if "default" not in self.detectors:
            raise ConfigError(f"{path}.detectors.default: required (the detectors for languages not listed)")
        for lang, names in self.detectors.items():
            for name in names:
                if name not in DETECTOR_KIND:
                    raise ConfigError(
                        f"{path}.detectors.{lang}: unknown detector {name!r} (known: {', '.join(DETECTOR_KIND)})"
                    )
        for kind, text in self.placeholders.items():
            if kind not in KINDS:
                raise ConfigError(f"{path}.placeholders.{kind}: unknown kind (known: {', '.join(KINDS)})")
            if not text:
                raise ConfigError(f"{path}.placeholders.{kind}: must not be empty")
        if self.max_replacements is not None and self.max_replacements < 0:
            raise ConfigError(f"{path}.max_replacements: must be >= 0 or null")

    def placeholder(self, kind: str) -> str:
        return self.placeholders.get(kind, f"<{kind.upper()}>")

    def detectors_for(self, lang: str | None) -> tuple[str, ...]:
        return self.detectors.get(lang or "", self.detectors["default"])


# ---------------------------------------------------------------------------------------------------------------
# Validators
# ---------------------------------------------------------------------------------------------------------------

# Words that make a dotted quad a version or build number ("version 1.2.3.4", "v2.0.0.1", "版本 3.1.0.2").
_VERSION_CONTEXT = re.compile(r"(?:\bv|\bver|version|release|build|firmware|版本号?|版本)\s*[:：]?\s*$", re.IGNORECASE)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Issuer prefixes (ISO/IEC 7812): Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37, Discover/UnionPay 6,
# JCB 35, Diners 30/36/38. Digit runs starting with 0, 1, 7, 8 or 9 (ISBNs start 978/979) are never cards.
_CARD_PREFIX = re.compile(r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[0478]|35|36|38|6")
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
_CARD_GROUPS = {(4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 4, 1)}


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def resident_id_valid(candidate: str, today: dt.date | None = None) -> bool:
    """An 18-character Chinese resident ID: ISO 7064 MOD 11-2 check character and a real, past birth date."""
    if len(candidate) != 18 or not candidate[:17].isdigit():
        return False
    if candidate[0] not in "12345678":  # province codes are 11-82
        return False
    try:
        born = dt.date(int(candidate[6:10]), int(candidate[10:12]), int(candidate[12:14]))
    except ValueError:
        return False
    if not dt.date(1900, 1, 1) <= born <= (today or dt.date.today()):
        return False
    total = sum(int(d) * w for d, w in zip(candidate[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == candidate[17].upper()


def card_number_valid(candidate: str) -> bool:
    """13-19 digits, one separator style in card-like groups, an issuer prefix, and a valid Luhn check digit."""
    groups = re.split(r"[ -]", candidate)
    if len(groups) > 1:
        separators = set(re.findall(r"[ -]", candidate))
        if len(separators) != 1 or tuple(len(g) for g in groups) not in _CARD_GROUPS:
            return False
    digits = "".join(groups)
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    return bool(_CARD_PREFIX.match(digits)) and luhn_valid(digits)


def public_ip_valid(candidate: str, text: str, start: int) -> bool:
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:  # leading zeros, out-of-range parts
        return False
    if not address.is_global or address.is_multicast:
        return False
    if address.version == 6 and address not in _GLOBAL_UNICAST_V6:  # "a::b" is not an address anyone holds
        return False
    return not (address.version == 4 and _VERSION_CONTEXT.search(text, max(0, start - 20), start))


def intl_phone_valid(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    return 8 <= digits <= 15  # E.164 caps a number at 15 digits; fewer than 8 is not a reachable number


# ---------------------------------------------------------------------------------------------------------------
# Detectors: candidate regex (Python), prefilter (RE2 superset for Arrow), validator
# ---------------------------------------------------------------------------------------------------------------

_LOCAL = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_NOT_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_ALNUM_AFTER = r"(?![0-9A-Za-z])"


@dataclass(frozen=True)
class Detector:
    name: str
    pattern: re.Pattern[str]
    prefilter: str
    """RE2 pattern matching every text the Python pattern could match (a superset); run by Arrow per column."""
    validate: Callable[[re.Match[str]], bool] | None = None


DETECTORS: dict[str, Detector] = {
    "email": Detector(
        "email",
        re.compile(
            # Local part cannot start inside another local part (ASCII look-behind, since CJK letters are \w and
            # ``\b`` would then never fire in "邮箱abc@qq.com"); domain labels or an IPv4 literal in brackets.
            # As in datatrove, "a@b@host.com" loses "b@host.com": fediverse handles (@user@host) count as e-mails.
            rf"(?<!{_LOCAL}){_LOCAL}+(?:\.{_LOCAL}+)*@"
            r"(?:(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
            rf"|\[(?:{_OCTET}\.){{3}}{_OCTET}\])",
            re.IGNORECASE,
        ),
        r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]@[A-Za-z0-9\[]",
    ),
    "ip": Detector(
        "ip",
        re.compile(
            # IPv4 not glued to other dotted numbers ("1.2.3.4.5", "10.1.2.3.4") nor to letters or digits.
            rf"(?<![0-9A-Za-z])(?<!\d\.){_OCTET}(?:\.{_OCTET}){{3}}(?!\.?\d)(?![A-Za-z])"
            # IPv6 candidates; ``ipaddress`` decides. Global unicast is 2000::/3, so "std::map" or "a::b" never pass.
            r"|(?<![0-9A-Za-z:.])(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,6}|[0-9A-Fa-f]{1,4})"
            r"(?![0-9A-Za-z:])"
        ),
        r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9A-Fa-f]{1,4}::?[0-9A-Fa-f]{0,4}:",
    ),
    "phone_intl": Detector(
        "phone_intl",
        re.compile(
            r"(?<![\w+])\+[1-9]\d{0,2}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){1,5}(?![\d.-]?\d)",
        ),
        r"\+[1-9]",
    ),
    "phone_cn": Detector(
        "phone_cn",
        re.compile(
            # Mobile 1[3-9]x xxxx xxxx, optionally +86 / 86 prefixed, spaced or dashed 3-4-4.
            rf"{_NOT_ALNUM_BEFORE}(?:(?:\+?86)[ -]?)?1[3-9]\d(?:\d{{8}}|([ -])\d{{4}}\1\d{{4}}){_NOT_ALNUM_AFTER}"
            # Landline: area code 0xx / 0xxx (also in parentheses), a separator, 7-8 digits not starting with 0/1.
            rf"|{_NOT_ALNUM_BEFORE}(?:\(0\d{{2,3}}\)\s?|0\d{{2,3}}[-－ ])[2-9]\d{{6,7}}(?:-\d{{1,4}})?"
            rf"(?![0-9A-Za-z-])"
        ),
        r"1[3-9]\d[ -]?\d{4}[ -]?\d{4}|0\d{2,3}\)?[-－ ]?[2-9]\d{6}",
    ),
    "phone_nanp": Detector(
        "phone_nanp",
        re.compile(
            # US/Canada without +1: (NPA) NXX-XXXX, or NPA-NXX-XXXX / NPA.NXX.XXXX with one separator throughout.
            # Area code and exchange start with 2-9 (NANP), so dates (2023-10-01), ISBN groups and most reference
            # numbers cannot match.
            r"(?<![\w+.-])(?:\([2-9]\d{2}\)[ ]?[2-9]\d{2}[-.]\d{4}|[2-9]\d{2}([-.])[2-9]\d{2}\1\d{4})(?![\w-]|\.\d)"
        ),
        r"[2-9]\d{2}\)?[ .-]?[2-9]\d{2}[.-]\d{4}",
    ),
    "id_cn": Detector(
        "id_cn",
        re.compile(rf"{_NOT_ALNUM_BEFORE}[1-8]\d{{5}}(?:18|19|20)\d{{2}}[01]\d[0-3]\d\d{{3}}[\dXx]{_NOT_ALNUM_AFTER}"),
        r"[1-8]\d{5}(?:18|19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx]",
    ),
    "card": Detector(
        "card",
        re.compile(r"(?<![\d.,-])\d{4}(?:[ -]?\d){9,15}(?![\d]|[.,-]\d)"),
        r"\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d",
    ),
    "ssn": Detector(
        "ssn",
        re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])"),
        r"\d{3}-\d{2}-\d{4}",
    ),
}


def _validator(name: str) -> Callable[[re.Match[str]], bool] | None:
    if name == "ip":
        return lambda m: public_ip_valid(m.group(0), m.string, m.start())
    if name == "id_cn":
        return lambda m: resident_id_valid(m.group(0))
    if name == "card":
        return lambda m: card_number_valid(m.group(0))
    if name == "phone_intl":
        return lambda m: intl_phone_valid(m.group(0))
    return None


_VALIDATORS = {name: _validator(name) for name in DETECTORS}


def replace_one(text: str, name: str, placeholder: str) -> tuple[str, int]:
    """Replace the validated matches of detector ``name`` in ``text``; return the new text and how many."""
    validate = _VALIDATORS[name]
    replaced = 0

    def substitute(match: re.Match[str]) -> str:
        nonlocal replaced
        if validate is not None and not validate(match):
            return match.group(0)
        replaced += 1
        return placeholder

    return DETECTORS[name].pattern.sub(substitute, text), replaced


def _flagged(texts: pa.Array, prefilter: str) -> np.ndarray:
    """Which texts may contain a candidate, decided by Arrow's RE2 kernel over the whole column."""
    return pc.fill_null(pc.match_substring_regex(texts, prefilter), False).to_numpy(zero_copy_only=False)


def redact_batch(texts: pd.Series, langs: pd.Series | None, conf: PiiConfig) -> pd.DataFrame:
    """``text`` with PII replaced, plus one ``pii_<kind>`` count column per kind (int64), row order kept."""
    values = texts.fillna("").astype(str).tolist()
    count = len(values)
    lang_values = langs.tolist() if langs is not None else [None] * count
    counts = {kind: np.zeros(count, dtype=np.int64) for kind in KINDS}
    # Which rows each detector applies to, from the per-language lists in conf.
    by_lang = {lang: set(conf.detectors_for(lang)) for lang in set(lang_values)}
    applies = {name: np.array([name in by_lang[lang] for lang in lang_values], dtype=bool) for name in DETECTORS}
    # Prefilters run on the original texts: a placeholder never creates a candidate, so they stay supersets.
    column = pa.array(values, type=pa.large_string())
    for name in DETECTOR_ORDER:
        if not applies[name].any():
            continue
        detector = DETECTORS[name]
        kind = DETECTOR_KIND[name]
        placeholder = conf.placeholder(kind)
        candidates = np.flatnonzero(_flagged(column, detector.prefilter) & applies[name])
        for row in candidates:
            values[row], replaced = replace_one(values[row], name, placeholder)
            counts[kind][row] += replaced
    result = pd.DataFrame({"text": values})
    for kind in KINDS:
        result[COUNT_COLUMNS[kind]] = counts[kind]
    empty = texts.isna().to_numpy()
    if empty.any():
        result.loc[empty, "text"] = None
    return result


def redact_text(text: str, conf: PiiConfig, lang: str | None = None) -> str:
    """One text, for tests and examples (the batch path is :func:`redact_batch`)."""
    return redact_batch(pd.Series([text]), pd.Series([lang]), conf).loc[0, "text"]
