"""Deterministic, Common-Crawl-like WET files for benchmarks.

    .venv/bin/python bench/corpus.py --out DIR --mb 40 [--files 8] [--seed 0] [--describe] [--truth FILE]

Writes ``DIR/bench-00000.warc.wet.gz`` … : about ``--mb`` MB (10^6 bytes) of UTF-8 text in total, counted as the
sum of record bodies, split evenly over ``--files`` files. Each file is laid out like an official WET file: a
``warcinfo`` record, then ``conversion`` records, each record its own gzip member, with the headers Common Crawl
writes (``WARC-Record-ID``, ``WARC-Refers-To``, ``WARC-Block-Digest`` as base32 SHA-1 of the body,
``WARC-Identified-Content-Language`` as an ISO-639-3 code, ``Content-Length`` in bytes).

What is in it, by documents (the shares are drawn, so small corpora wobble around them):

- languages like a CC crawl: en ~45 %, ru/de ~6 %, zh/ja/es/fr ~5 %, then pt, it, pl, nl, id, vi, tr, ko, cs, uk,
  sv, hu, ro, el, da, fi. Sentences are real text found offline on this machine: the translated gettext
  catalogues under /usr/share/locale (the approach of bench/langid_accuracy.py), the Tatoeba sentences of
  tests/fixtures/lid, the Python reference prose of tests/fixtures/reference and the Chinese reviews and
  encyclopedia text of tests/fixtures/dedup and tests/fixtures/quality;
- pages as paragraphs of those sentences (300-8000 characters, log-normal length; a near copy may grow past 8000
  by its edits) in news, blog, wiki, forum, shop and plain page layouts, wrapped in per-domain boilerplate (menus,
  cookie and copyright lines) that repeats across the pages of a domain;
- ~10 % spam pages (keyword stuffing, a repeated line, link lists with pharmacy/casino/loan words),
  ~5 % exact copies of earlier pages (same text under another URL and record id) and ~5 % near copies (an earlier
  page with one to three lines replaced, inserted, deleted or appended, under another URL);
- URLs over 3000 synthetic domains per language with that language's TLDs; fetch dates within CC-MAIN-2024-22.

Same arguments on the same machine give byte-identical files: one ``random.Random(seed)``, gzip ``mtime=0``, record
ids derived from seed, file and record index, nothing from the clock. The text pools come from the installed
gettext catalogues, so another machine may produce other (equally valid) files; ``--describe`` prints a digest of
the pools to tell.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import functools
import gzip
import hashlib
import itertools
import json
import math
import random
import re
import struct
import sys
import time
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
LOCALE_DIR = Path("/usr/share/locale")

MB = 1_000_000
CRAWL = "CC-MAIN-2024-22"
# CC-MAIN-2024-22 fetched from 17 to 30 May 2024.
CRAWL_START = datetime(2024, 5, 17, tzinfo=timezone.utc)
CRAWL_SECONDS = 14 * 24 * 3600
RECORD_NAMESPACE = uuid.UUID("6f1d3b52-8c1e-4f0b-9a57-3c2d7e5b9a10")
DOMAINS_PER_LANGUAGE = 3000
MIN_PAGE_CHARS, MAX_PAGE_CHARS = 300, 8000
MEDIAN_PAGE_CHARS, PAGE_LENGTH_SIGMA = 1500, 0.8
SPAM_SHARE, EXACT_COPY_SHARE, NEAR_COPY_SHARE = 0.10, 0.05, 0.05
# Earlier pages kept as copy sources: a reservoir sample bounds memory whatever --mb is.
COPY_SOURCES = 4096
# CC writes its members with zlib's default level; 6 is also ~2x faster than gzip.compress's default 9.
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Language:
    code: str
    """lid.176 label (what the pipeline's langid stage should find)."""
    iso3: str
    """``WARC-Identified-Content-Language`` as CC writes it."""
    share: float
    """Percent of documents."""
    locales: tuple[str, ...]
    """Locale directories with its gettext translations; empty for English, the catalogues' source language."""
    tatoeba: str
    tlds: tuple[str, ...]
    currency: str


LANGUAGES: tuple[Language, ...] = (
    Language("en", "eng", 45.0, (), "eng", ("com", "com", "com", "org", "net", "co.uk", "info", "io", "us"), "$"),
    Language("ru", "rus", 6.0, ("ru",), "rus", ("ru", "ru", "ru", "su", "com", "net"), "₽"),
    Language("de", "deu", 6.0, ("de",), "deu", ("de", "de", "de", "at", "ch", "com"), "€"),
    Language("zh", "zho", 5.0, ("zh_CN",), "cmn", ("cn", "com.cn", "com", "net", "cc"), "¥"),
    Language("ja", "jpn", 5.0, ("ja",), "jpn", ("jp", "co.jp", "jp", "com", "ne.jp"), "円"),
    Language("es", "spa", 5.0, ("es",), "spa", ("es", "com.mx", "com.ar", "cl", "com", "co"), "€"),
    Language("fr", "fra", 5.0, ("fr",), "fra", ("fr", "fr", "be", "ca", "com"), "€"),
    Language("pt", "por", 3.0, ("pt_BR", "pt"), "por", ("com.br", "com.br", "pt", "com"), "R$"),
    Language("it", "ita", 3.0, ("it",), "ita", ("it", "it", "com"), "€"),
    Language("pl", "pol", 2.0, ("pl",), "pol", ("pl", "com.pl", "pl"), "zł"),
    Language("nl", "nld", 2.0, ("nl",), "nld", ("nl", "nl", "be"), "€"),
    Language("id", "ind", 1.5, ("id",), "ind", ("co.id", "id", "web.id", "com"), "Rp"),
    Language("vi", "vie", 1.5, ("vi",), "vie", ("vn", "com.vn", "com"), "₫"),
    Language("tr", "tur", 1.5, ("tr",), "tur", ("com.tr", "com.tr", "net", "org.tr"), "₺"),
    Language("ko", "kor", 1.0, ("ko",), "kor", ("kr", "co.kr", "com"), "원"),
    Language("cs", "ces", 1.2, ("cs",), "ces", ("cz",), "Kč"),
    Language("uk", "ukr", 1.0, ("uk",), "ukr", ("ua", "com.ua"), "₴"),
    Language("sv", "swe", 0.9, ("sv",), "swe", ("se",), "kr"),
    Language("hu", "hun", 0.8, ("hu",), "hun", ("hu",), "Ft"),
    Language("ro", "ron", 0.8, ("ro",), "ron", ("ro",), "lei"),
    Language("el", "ell", 0.7, ("el",), "ell", ("gr", "com.gr"), "€"),
    Language("da", "dan", 0.6, ("da",), "dan", ("dk",), "kr"),
    Language("fi", "fin", 0.6, ("fi",), "fin", ("fi",), "€"),
)  # fmt: skip
BY_CODE = {language.code: language for language in LANGUAGES}
UNSPACED = frozenset({"zh", "ja"})


@dataclass(frozen=True)
class SiteWords:
    """The boilerplate phrases of one language (English stands in for the rest, as on many real sites)."""

    rights: str
    cookies: str
    home: str
    read_more: str
    share: str
    comments: str
    posted_by: str
    privacy: str
    terms: str
    contact: str


SITE_WORDS: dict[str, SiteWords] = {
    "en": SiteWords("All rights reserved.", "This website uses cookies to improve your experience. By continuing to "
                    "browse the site you agree to our use of cookies.", "Home", "Read more", "Share", "Comments",
                    "Posted by", "Privacy Policy", "Terms of Use", "Contact"),
    "de": SiteWords("Alle Rechte vorbehalten.", "Diese Website verwendet Cookies. Wenn Sie die Website weiter "
                    "nutzen, stimmen Sie der Verwendung von Cookies zu.", "Startseite", "Weiterlesen", "Teilen",
                    "Kommentare", "Geschrieben von", "Datenschutz", "Impressum", "Kontakt"),
    "ru": SiteWords("Все права защищены.", "Этот сайт использует файлы cookie. Продолжая пользоваться сайтом, вы "
                    "соглашаетесь на их использование.", "Главная", "Читать далее", "Поделиться", "Комментарии",
                    "Автор", "Политика конфиденциальности", "Пользовательское соглашение", "Контакты"),
    "fr": SiteWords("Tous droits réservés.", "Ce site utilise des cookies. En poursuivant votre navigation, vous "
                    "acceptez leur utilisation.", "Accueil", "Lire la suite", "Partager", "Commentaires",
                    "Publié par", "Politique de confidentialité", "Mentions légales", "Contact"),
    "es": SiteWords("Todos los derechos reservados.", "Este sitio web utiliza cookies. Si continúa navegando, "
                    "acepta su uso.", "Inicio", "Leer más", "Compartir", "Comentarios", "Publicado por",
                    "Política de privacidad", "Aviso legal", "Contacto"),
    "pt": SiteWords("Todos os direitos reservados.", "Este site utiliza cookies. Ao continuar a navegar, você "
                    "concorda com o seu uso.", "Início", "Leia mais", "Compartilhar", "Comentários",
                    "Publicado por", "Política de privacidade", "Termos de uso", "Contato"),
    "it": SiteWords("Tutti i diritti riservati.", "Questo sito utilizza i cookie. Continuando la navigazione "
                    "accetti il loro utilizzo.", "Home", "Leggi tutto", "Condividi", "Commenti", "Pubblicato da",
                    "Privacy", "Termini e condizioni", "Contatti"),
    "pl": SiteWords("Wszelkie prawa zastrzeżone.", "Ta strona korzysta z plików cookie. Korzystając ze strony, "
                    "wyrażasz zgodę na ich używanie.", "Strona główna", "Czytaj więcej", "Udostępnij",
                    "Komentarze", "Autor", "Polityka prywatności", "Regulamin", "Kontakt"),
    "nl": SiteWords("Alle rechten voorbehouden.", "Deze website maakt gebruik van cookies. Door verder te gaan "
                    "gaat u akkoord met het gebruik van cookies.", "Home", "Lees meer", "Delen", "Reacties",
                    "Geplaatst door", "Privacybeleid", "Algemene voorwaarden", "Contact"),
    "zh": SiteWords("版权所有。", "本网站使用Cookie来改善您的浏览体验。继续浏览即表示您同意我们使用Cookie。", "首页",
                    "阅读全文", "分享", "评论", "发布者", "隐私政策", "使用条款", "联系我们"),
    "ja": SiteWords("無断転載を禁じます。", "このサイトではクッキーを使用しています。引き続き閲覧することで、"
                    "クッキーの使用に同意したことになります。", "ホーム", "続きを読む", "シェア", "コメント",
                    "投稿者", "プライバシーポリシー", "利用規約", "お問い合わせ"),
    "ko": SiteWords("모든 권리 보유.", "이 웹사이트는 쿠키를 사용합니다. 계속 이용하시면 쿠키 사용에 동의하는 것으로 "
                    "간주됩니다.", "홈", "더 보기", "공유", "댓글", "작성자", "개인정보처리방침", "이용약관",
                    "문의하기"),
    "tr": SiteWords("Tüm hakları saklıdır.", "Bu web sitesi çerez kullanmaktadır. Siteyi kullanmaya devam ederek "
                    "çerez kullanımını kabul etmiş olursunuz.", "Ana Sayfa", "Devamını oku", "Paylaş", "Yorumlar",
                    "Yazar", "Gizlilik Politikası", "Kullanım Koşulları", "İletişim"),
    "id": SiteWords("Hak cipta dilindungi undang-undang.", "Situs web ini menggunakan cookie. Dengan melanjutkan, "
                    "Anda menyetujui penggunaan cookie.", "Beranda", "Baca selengkapnya", "Bagikan", "Komentar",
                    "Ditulis oleh", "Kebijakan Privasi", "Syarat dan Ketentuan", "Kontak"),
    "vi": SiteWords("Bản quyền thuộc về chúng tôi.", "Trang web này sử dụng cookie. Bằng cách tiếp tục truy cập, "
                    "bạn đồng ý với việc sử dụng cookie.", "Trang chủ", "Xem thêm", "Chia sẻ", "Bình luận",
                    "Đăng bởi", "Chính sách bảo mật", "Điều khoản sử dụng", "Liên hệ"),
    "uk": SiteWords("Усі права захищено.", "Цей сайт використовує файли cookie. Продовжуючи користуватися сайтом, "
                    "ви погоджуєтеся з їх використанням.", "Головна", "Читати далі", "Поділитися", "Коментарі",
                    "Автор", "Політика конфіденційності", "Умови використання", "Контакти"),
    "cs": SiteWords("Všechna práva vyhrazena.", "Tento web používá soubory cookie. Pokračováním v prohlížení "
                    "souhlasíte s jejich používáním.", "Úvod", "Číst dále", "Sdílet", "Komentáře", "Autor",
                    "Ochrana osobních údajů", "Podmínky užívání", "Kontakt"),
}  # fmt: skip

SPAM_WORDS = (
    "viagra", "cialis", "levitra", "tramadol", "xanax", "online pharmacy", "no prescription", "casino", "poker",
    "slots", "jackpot", "free spins", "bonus", "betting", "payday loans", "replica watches", "cheap", "buy",
    "discount", "best price", "bitcoin casino", "win real money", "weight loss pills", "free shipping",
)  # fmt: skip
LOCAL_SPAM_WORDS: dict[str, tuple[str, ...]] = {
    "de": ("kaufen", "günstig", "rezeptfrei", "online bestellen", "Online Casino"),
    "ru": ("купить", "дешево", "без рецепта", "казино онлайн", "ставки на спорт"),
    "fr": ("acheter", "pas cher", "sans ordonnance", "casino en ligne"),
    "es": ("comprar", "barato", "sin receta", "casino online", "apuestas"),
    "pt": ("comprar", "barato", "sem receita", "cassino online", "apostas"),
    "it": ("comprare", "economico", "senza ricetta", "casinò online", "scommesse"),
    "pl": ("kupić", "tanio", "bez recepty", "kasyno online", "zakłady bukmacherskie"),
    "nl": ("kopen", "goedkoop", "zonder recept", "online casino"),
    "zh": ("博彩", "娱乐城", "代开发票", "特效药", "百家乐", "彩票网"),
    "ja": ("激安", "通販", "カジノ", "送料無料", "即日発送"),
    "ko": ("카지노", "바카라", "토토사이트", "비아그라 구매"),
    "tr": ("satın al", "ucuz", "casino siteleri", "bahis"),
    "id": ("beli", "murah", "judi online", "slot gacor"),
    "vi": ("mua", "giá rẻ", "nhà cái", "cá cược"),
}
# Parts of synthetic host names: neutral syllables, then a few words that sites of a language put in their names.
SYLLABLES = (
    "ka", "lo", "mi", "ra", "ten", "bel", "cor", "dan", "fel", "gar", "hol", "in", "jo", "kel", "lan", "mar", "nor",
    "ol", "pra", "quin", "ros", "sal", "tor", "ul", "val", "win", "xa", "yor", "zen", "bri", "cas", "dor",
)  # fmt: skip
HOST_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("news", "daily", "blog", "hub", "world", "times", "forum", "shop", "guide", "life", "tech", "home"),
    "de": ("zeitung", "welt", "blog", "forum", "haus", "markt", "info", "netz", "garten", "reise"),
    "ru": ("novosti", "gazeta", "forum", "mir", "blog", "info", "dom", "zhizn", "tehno", "sovet"),
    "zh": ("xinwen", "wang", "zhongguo", "baike", "shenghuo", "keji", "luntan", "jia", "tianxia", "shuju"),
    "ja": ("nikki", "shinbun", "sakura", "blog", "jouhou", "matome", "tokyo", "nihon", "kurashi"),
    "ko": ("news", "seoul", "blog", "ilbo", "cafe", "story", "hankuk"),
    "fr": ("actu", "journal", "blog", "forum", "maison", "info", "monde", "cuisine"),
    "es": ("noticias", "diario", "blog", "foro", "casa", "mundo", "info", "viajes"),
    "pt": ("noticias", "jornal", "blog", "forum", "casa", "mundo", "portal"),
    "it": ("notizie", "giornale", "blog", "forum", "casa", "mondo", "portale"),
}
SPAM_HOST_WORDS = ("cheap-meds", "best-casino", "pills-online", "bonus-slots", "fast-loans", "replica", "rx-store")
SECTION_WEIGHTS = {"news": 25, "blog": 25, "forum": 12, "wiki": 8, "shop": 12, "page": 18}
SENTENCE_END = ".!?。！？"
# Placeholders, markup, accelerators, options and URLs mark UI strings that are not sentences.
_NOT_PROSE = re.compile(r"[%{}<>$&_=\\|@#\[\]^~*`/]|--|https?:|\.\.|…|\t")
_SPLIT_LATIN = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_SPLIT_CJK = re.compile(r"(?<=[。！？])")
_SCRIPT = {
    "ru": re.compile(r"[\u0400-\u04ff]"),
    "uk": re.compile(r"[\u0400-\u04ff]"),
    "el": re.compile(r"[\u0370-\u03ff]"),
    "ko": re.compile(r"[\uac00-\ud7af]"),
    "ja": re.compile(r"[\u3040-\u30ff]"),
    "zh": re.compile(r"[\u4e00-\u9fff]"),
}
_KANA = re.compile(r"[\u3040-\u30ff]")
_LETTER = re.compile(r"[^\W\d_]")


# ---------------------------------------------------------------------------------------------------------------
# Text pools: real sentences per language, found offline
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pool:
    """The sentences of a language (paragraph material) and short phrases (menu and heading material)."""

    sentences: tuple[str, ...]
    phrases: tuple[str, ...]
    bytes_per_char: float
    mean_sentence_chars: float


def _mo_strings(path: Path, sources: bool) -> list[str]:
    """The msgids (``sources``) or the translations that differ from their msgid, of one compiled catalogue.

    Read directly rather than with ``gettext.GNUTranslations``, which parses plural rules and builds a dict per
    catalogue: this is several times faster over the ~1500 catalogues of a machine.
    """
    data = path.read_bytes()
    order = {b"\xde\x12\x04\x95": "<", b"\x95\x04\x12\xde": ">"}.get(data[:4])
    if order is None or len(data) < 20:
        return []
    try:
        count, originals_at, translations_at = struct.unpack_from(order + "3I", data, 8)
        originals = struct.unpack_from(f"{order}{2 * count}I", data, originals_at)
        translations = struct.unpack_from(f"{order}{2 * count}I", data, translations_at)
    except struct.error:
        return []
    charset = "utf-8"
    strings: list[str] = []
    for i in range(0, 2 * count, 2):
        source_length, source_at = originals[i], originals[i + 1]
        target_length, target_at = translations[i], translations[i + 1]
        if source_length == 0:  # the header entry: it names the charset
            found = re.search(rb"charset=([-\w]+)", data[target_at : target_at + target_length])
            charset = found.group(1).decode() if found else charset
            continue
        # First plural form only; a "context\x04msgid" key keeps its msgid.
        source = data[source_at : source_at + source_length].split(b"\0", 1)[0].rpartition(b"\x04")[2]
        target = data[target_at : target_at + target_length].split(b"\0", 1)[0]
        raw = source if sources else target
        if not target or (not sources and target == source) or len(raw) > 2400:
            continue
        try:
            strings.append(raw.decode(charset))
        except (UnicodeDecodeError, LookupError):
            continue
    return strings


def _in_script(text: str, lang: str) -> bool:
    """Whether a non-Latin language's text is mostly in its script (an untranslated string is English)."""
    pattern = _SCRIPT.get(lang)
    if pattern is None:
        return True
    if lang == "zh" and _KANA.search(text):
        return False
    letters = len(_LETTER.findall(text))
    return letters > 0 and len(pattern.findall(text)) / letters >= (0.2 if lang == "ja" else 0.5)


def _as_sentence(text: str, lang: str) -> str | None:
    # Cheapest tests first: most catalogue strings are labels without final punctuation.
    text = text.strip()
    if not text or text[-1] not in SENTENCE_END or not text[0].isalpha() or _NOT_PROSE.search(text):
        return None
    text = " ".join(text.split())
    if lang in UNSPACED or lang == "ko":
        long_enough = 10 <= len(text) <= 400
    else:
        long_enough = 25 <= len(text) <= 600 and text.count(" ") >= 3
    return text if long_enough and _in_script(text, lang) else None


def _as_phrase(text: str, lang: str) -> str | None:
    if len(text) > 40:
        return None
    text = " ".join(text.split())
    words = text.split()
    if not 1 <= len(words) <= 3 or not 2 <= len(text) <= 24 or not all(word.isalpha() for word in words):
        return None
    return text if _in_script(text, lang) else None


def _gettext_messages(language: Language) -> set[str]:
    """Translations of the language (for English: the source strings of the German catalogues)."""
    messages: set[str] = set()
    for locale in language.locales or ("de",):
        for path in sorted((LOCALE_DIR / locale / "LC_MESSAGES").glob("*.mo")):
            if path.name.startswith("iso_"):
                continue  # country and language names, not sentences
            messages.update(_mo_strings(path, sources=not language.locales))
    return messages


def _fixture_sentences(language: Language) -> list[str]:
    texts: list[str] = []
    with (FIXTURES / "lid" / "cld2_tatoeba_long.tsv").open(encoding="utf-8") as handle:
        next(handle)
        for line in handle:
            columns = line.rstrip("\n").split("\t")
            if len(columns) == 4 and columns[2] == language.tatoeba:
                texts.append(columns[3])
    if language.code == "en":
        texts += (FIXTURES / "reference" / "en_python_docs.txt").read_text(encoding="utf-8").splitlines()
    elif language.code == "zh":
        texts += (FIXTURES / "dedup" / "zh_reviews.txt").read_text(encoding="utf-8").splitlines()
        texts += (FIXTURES / "quality" / "zh_encyclopedia_clean.txt").read_text(encoding="utf-8").splitlines()
    splitter = _SPLIT_CJK if language.code in UNSPACED else _SPLIT_LATIN
    return [part.strip() for text in texts for part in splitter.split(text) if part.strip()]


@functools.cache
def text_pool(code: str) -> Pool:
    language = BY_CODE[code]
    messages = _gettext_messages(language)
    sentences = {s for text in [*messages, *_fixture_sentences(language)] if (s := _as_sentence(text, code))}
    phrases = {p for text in messages if (p := _as_phrase(text, code))}
    if len(sentences) < 50 or len(phrases) < 20:
        raise RuntimeError(
            f"too little {code} text on this machine ({len(sentences)} sentences, {len(phrases)} phrases): "
            f"install gettext translations (e.g. the language packs of common packages) under {LOCALE_DIR}"
        )
    ordered = tuple(sorted(sentences))
    chars = sum(len(s) for s in ordered)
    bytes_per_char = sum(len(s.encode()) for s in ordered) / chars
    return Pool(ordered, tuple(sorted(phrases)), bytes_per_char, chars / len(ordered))


def pools_digest() -> str:
    """SHA-1 over every pool: equal digests on two machines mean the same arguments give the same files."""
    digest = hashlib.sha1()
    for language in LANGUAGES:
        pool = text_pool(language.code)
        # Pool entries never hold a newline (whitespace is collapsed), so joined by one they cannot run together.
        digest.update("\n".join((language.code, *pool.sentences, "", *pool.phrases, "")).encode())
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------------------------
# Sites: synthetic domains with their own boilerplate
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Site:
    host: str
    name: str
    kind: str
    """Main section of the site (news, blog, forum, wiki, shop, page)."""
    header: list[str]
    footer: list[str]
    https: bool


def _fold(text: str) -> str:
    """ASCII form of a title for URL slugs (accents dropped); empty for non-Latin scripts."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text.lower())[:8])


class Sites:
    """Domains of each language, built on first use from their own seeded generator (stable whatever the order)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._sites: dict[tuple[str, int], Site] = {}
        self._hosts: set[str] = set()

    def get(self, lang: str, index: int) -> Site:
        key = (lang, index)
        if key not in self._sites:
            self._sites[key] = self._build(lang, index)
        return self._sites[key]

    def unique_host(self, host: str, rng: random.Random) -> str:
        while host in self._hosts:
            label, _, tld = host.partition(".")
            host = f"{label}{rng.randrange(10, 99)}.{tld}"
        self._hosts.add(host)
        return host

    def _build(self, lang: str, index: int) -> Site:
        rng = random.Random(f"{self.seed}/site/{lang}/{index}")
        language = BY_CODE[lang]
        # The syllables spell the index in base len(SYLLABLES): distinct indices give distinct names.
        label = "".join(SYLLABLES[(index // len(SYLLABLES) ** k) % len(SYLLABLES)] for k in range(3))
        word = rng.choice(HOST_WORDS.get(lang, ("news", "blog", "info", "forum", "portal", "online", "web")))
        label = rng.choice((f"{label}{word}", f"{word}{label}", f"{label}-{word}", label))
        prefix = rng.choices(("", "www.", "blog.", "forum.", "m.", "news."), weights=(40, 45, 4, 4, 4, 3))[0]
        host = self.unique_host(f"{label}.{rng.choice(language.tlds)}", rng)
        name = label.replace("-", " ").title().replace(" ", "")
        kind = rng.choices(list(SECTION_WEIGHTS), weights=list(SECTION_WEIGHTS.values()))[0]
        header, footer = self._boilerplate(rng, lang, name)
        return Site(prefix + host, name, kind, header, footer, https=rng.random() < 0.85)

    @staticmethod
    def _boilerplate(rng: random.Random, lang: str, name: str) -> tuple[list[str], list[str]]:
        words = SITE_WORDS.get(lang, SITE_WORDS["en"])
        menu = [words.home, *rng.sample(text_pool(lang).phrases, rng.randint(3, 9)), words.contact]
        style = rng.choices(("light", "medium", "heavy"), weights=(30, 35, 35))[0]
        copyright_line = f"© {rng.choice((2024, 2024, 2023, '2015-2024', '2009-2024'))} {name}. {words.rights}"
        if style == "light":
            return [" | ".join(menu)], [copyright_line]
        if style == "medium":
            return [name, " | ".join(menu)], [words.cookies, f"{words.privacy} | {words.terms}", copyright_line]
        # Heavy: one menu item per line, and the menu again in the footer, as in the sample WET pages.
        side = rng.sample(text_pool(lang).phrases, rng.randint(3, 8))
        return [name, *menu], [*side, words.cookies, *menu, f"{words.privacy} | {words.terms}", copyright_line]


# ---------------------------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Page:
    lang: str
    url: str
    text: str
    site: Site
    body: list[str]
    """Lines between the site's header and footer (what a near copy edits)."""
    kind: str = "normal"
    source_id: str | None = None


@dataclass
class CorpusSummary:
    paths: list[Path]
    documents_by_lang: Counter[str] = field(default_factory=Counter)
    bytes_by_lang: Counter[str] = field(default_factory=Counter)
    spam_ids: list[str] = field(default_factory=list)
    exact_copies: list[tuple[str, str]] = field(default_factory=list)
    """(copy id, original id): the bodies are byte-identical."""
    near_copies: list[tuple[str, str]] = field(default_factory=list)
    """(copy id, original id): the original with a few lines changed."""
    pools: str = ""

    @property
    def documents(self) -> int:
        return sum(self.documents_by_lang.values())

    @property
    def body_bytes(self) -> int:
        return sum(self.bytes_by_lang.values())

    def describe(self) -> str:
        lines = [
            f"{len(self.paths)} files, {self.documents} documents, {self.body_bytes / MB:.2f} MB of text "
            f"(text pools {self.pools})",
            f"spam pages {len(self.spam_ids)}, exact copies {len(self.exact_copies)}, "
            f"near copies {len(self.near_copies)}",
            "lang      docs  share     MB",
        ]
        for lang, docs in self.documents_by_lang.most_common():
            share = 100 * docs / max(self.documents, 1)
            lines.append(f"{lang:<4} {docs:>9} {share:5.1f}% {self.bytes_by_lang[lang] / MB:6.2f}")
        return "\n".join(lines)

    def truth(self) -> dict[str, object]:
        return {"spam": self.spam_ids, "exact_copies": self.exact_copies, "near_copies": self.near_copies}


class PageMaker:
    def __init__(self, rng: random.Random, sites: Sites) -> None:
        self.rng = rng
        self.sites = sites
        self.urls: set[str] = set()
        self.serial = 0
        self._cumulative = list(itertools.accumulate(language.share for language in LANGUAGES))

    def language(self) -> str:
        position = self.rng.random() * self._cumulative[-1]
        return LANGUAGES[bisect.bisect_right(self._cumulative, position)].code

    def site(self, lang: str) -> Site:
        # Density ~ 1/sqrt(rank): a few big sites with many pages (their boilerplate repeats), a long tail of small.
        return self.sites.get(lang, int(DOMAINS_PER_LANGUAGE * self.rng.random() ** 2))

    def page_chars(self) -> int:
        length = self.rng.lognormvariate(math.log(MEDIAN_PAGE_CHARS), PAGE_LENGTH_SIGMA)
        return int(min(max(length, MIN_PAGE_CHARS), MAX_PAGE_CHARS))

    # --- text pieces -----------------------------------------------------------------------------------------

    def paragraphs(self, lang: str, chars: int, max_sentences: int = 6) -> list[str]:
        """Lines of 1..max_sentences distinct sentences, about ``chars`` characters in all (at least one line)."""
        pool = text_pool(lang)
        joiner = "" if lang in UNSPACED else " "
        wanted = int(chars / pool.mean_sentence_chars * 1.3) + 4
        # choices() and a skip of repeats is ~3x faster than sample(); a sentence still appears once per call.
        sentences = iter(dict.fromkeys(self.rng.choices(pool.sentences, k=wanted)))
        lines: list[str] = []
        total = 0
        for sentence in sentences:
            if total >= chars or (lines and total + len(sentence) > chars + 80):
                break
            line = [sentence]
            total += len(sentence) + 1
            for _ in range(self.rng.randint(1, max_sentences) - 1):
                extra = next(sentences, None)
                if extra is None or total + len(extra) > chars + 80:
                    break
                line.append(extra)
                total += len(extra) + 1
            lines.append(joiner.join(line))
        return lines

    def title(self, lang: str) -> str:
        sentence = self.rng.choice(text_pool(lang).sentences).rstrip(SENTENCE_END)
        limit = 30 if lang in UNSPACED else 70
        if len(sentence) > limit:
            cut = sentence[:limit]
            sentence = cut if lang in UNSPACED or " " not in cut else cut.rsplit(" ", 1)[0]
        return sentence

    def date(self) -> datetime:
        return CRAWL_START + timedelta(seconds=self.rng.randrange(CRAWL_SECONDS))

    def person(self) -> str:
        return "".join(self.rng.sample(SYLLABLES, 2)).title() + self.rng.choice(("", "", str(self.rng.randint(1, 99))))

    # --- URLs ------------------------------------------------------------------------------------------------

    def url(self, site: Site, section: str, title: str, lang: str) -> str:
        self.serial += 1
        rng, number = self.rng, 1000 + self.serial * 7 + self.rng.randrange(7)
        slug = _fold(title) if lang not in UNSPACED | {"ko", "ru", "uk", "el"} else ""
        slug = slug or str(number)
        day = self.date() - timedelta(days=rng.randrange(0, 400))
        paths = {
            "news": (f"/news/{day:%Y/%m}/{slug}", f"/news/{number}.html", f"/{day:%Y%m%d}/{number}.shtml"),
            "blog": (f"/blog/{slug}/", f"/{day:%Y/%m/%d}/{slug}/", f"/?p={number}"),
            "forum": (f"/forum/viewtopic.php?t={number}", f"/forum/threads/{slug}.{number}/",
                      f"/showthread.php?tid={number}"),
            "wiki": (f"/wiki/{quote(title.replace(' ', '_'))}",),
            "shop": (f"/product/{slug}-{number}.html", f"/shop/p/{number}", f"/item/{number}"),
            "page": (f"/{slug}.html", f"/category/{slug}/page/{rng.randint(2, 40)}/", f"/article/{number}"),
        }  # fmt: skip
        url = f"{'https' if site.https else 'http'}://{site.host}{rng.choice(paths[section])}"
        while url in self.urls:
            url = f"{url.rstrip('/')}-{number}"
        self.urls.add(url)
        return url

    def copy_url(self, original: Page) -> tuple[str, Site]:
        """Another address for an earlier page: a variant on its own site, or a scraper site of the language."""
        if self.rng.random() < 0.5:
            base = original.url.split("?")[0].rstrip("/")
            variant = self.rng.choice((f"{base}/amp", f"{base}?utm_source=feed", f"{base}?page=1", f"{base}/print"))
            if variant not in self.urls:
                self.urls.add(variant)
                return variant, original.site
        site = self.site(original.lang)
        return self.url(site, "page", self.title(original.lang), original.lang), site

    # --- pages -----------------------------------------------------------------------------------------------

    def normal(self, lang: str, max_chars: int) -> Page:
        site = self.site(lang)
        section = site.kind if self.rng.random() < 0.8 else "page"
        boilerplate = sum(len(line) + 1 for line in site.header + site.footer)
        chars = max(min(self.page_chars(), max_chars) - boilerplate, 120)
        title = self.title(lang)
        words = SITE_WORDS.get(lang, SITE_WORDS["en"])
        body = [f"{title} | {site.name}" if self.rng.random() < 0.5 else title]
        if section == "forum":
            while sum(map(len, body)) < chars:
                stamp = self.date()
                body.append(f"{self.person()} » {stamp:%Y-%m-%d %H:%M}")
                body += self.paragraphs(lang, self.rng.randint(80, 600), max_sentences=3)
        elif section == "shop":
            body.append(f"{self.rng.randint(3, 999)},{self.rng.choice(('00', '90', '99'))} {BY_CODE[lang].currency}")
            body += self.rng.sample(text_pool(lang).phrases, self.rng.randint(2, 6))
            body += self.paragraphs(lang, max(chars - 150, 100))
        elif section == "wiki":
            body.append(site.name)
            for _ in range(self.rng.randint(1, 4)):
                body.append(self.rng.choice(text_pool(lang).phrases))
                body += self.paragraphs(lang, max(chars // 3, 100), max_sentences=8)
                if sum(map(len, body)) >= chars:
                    break
        else:
            if section in ("news", "blog"):
                body.append(f"{words.posted_by} {self.person()} · {self.date():%d.%m.%Y}")
            body += self.paragraphs(lang, chars)
            if section == "blog":
                body.append(f"{words.share} · {words.comments} ({self.rng.randint(0, 40)})")
            elif section == "news" and self.rng.random() < 0.5:
                body.append(words.read_more)
        url = self.url(site, section, title, lang)
        return Page(lang, url, self._fitted_text(lang, site, body), site, body)

    def spam(self, lang: str) -> Page:
        rng = self.rng
        words = SPAM_WORDS + LOCAL_SPAM_WORDS.get(lang, ()) * 3
        host = f"{rng.choice(SPAM_HOST_WORDS)}-{rng.randint(1, 999)}.{rng.choice(BY_CODE[lang].tlds)}"
        site = Site(self.sites.unique_host(host, rng), host.split(".")[0], "page", [], [], https=rng.random() < 0.6)
        style = rng.choice(("stuffing", "repeat", "links"))
        title = " ".join(rng.sample(words, 4)).title()
        if style == "stuffing":
            lines = [" ".join(rng.choices(words, k=rng.randint(5, 15))) for _ in range(rng.randint(8, 40))]
            lines += rng.choices(lines, k=len(lines) // 3)  # stuffed pages repeat their lines
        elif style == "repeat":
            line = " ".join(rng.sample(words, 6)) + "!"
            lines = [line] * rng.randint(6, 20) + self.paragraphs(lang, rng.randint(100, 400), max_sentences=2)
            rng.shuffle(lines)
        else:
            lines = [f"{' '.join(rng.sample(words, 3))} - {site.host}/{rng.randint(1, 9999)}" for _ in range(30)]
        body = [title, *lines]
        url = f"{'https' if site.https else 'http'}://{site.host}/{_fold(title) or rng.randint(1, 9999)}.html"
        self.urls.add(url)
        return Page(lang, url, self._fitted_text(lang, site, body), site, body, kind="spam")

    def _fitted_text(self, lang: str, site: Site, body: list[str]) -> str:
        """The page text within MIN_PAGE_CHARS..MAX_PAGE_CHARS: ``body`` gets sentences added or its last lines cut.

        The parts of a page are drawn to a length target but overshoot it by up to a paragraph or a forum post.
        """
        text = _page_text(site, body)
        while len(text) < MIN_PAGE_CHARS:
            body += self.paragraphs(lang, MIN_PAGE_CHARS - len(text))
            text = _page_text(site, body)
        while len(text) > MAX_PAGE_CHARS and len(body) > 2:
            del body[-1]
            text = _page_text(site, body)
        return text

    def near_copy(self, original: Page) -> Page:
        """The original with one to three lines replaced, inserted, deleted or appended (never the same text)."""
        rng = self.rng
        body = list(original.body)
        # Edits scale with the page, so a copy stays near (most above 0.8 Jaccard of word 5-grams) whatever its size.
        size = len(original.text)
        for _ in range(rng.randint(1, 1 + min(size // 2000, 2))):
            operation = rng.choice(("replace", "insert", "delete", "append"))
            position = rng.randrange(1, len(body)) if len(body) > 1 else 1
            new_chars = rng.randint(40, max(size // 10, 60))
            if operation == "delete" and len(body) > 6 and len(body[position]) < size // 8:
                del body[position]
            elif operation == "replace" and len(body) > 1 and len(body[position]) < size // 8:
                body[position] = self.paragraphs(original.lang, new_chars, max_sentences=2)[0]
            elif operation == "insert":
                body.insert(position, self.paragraphs(original.lang, new_chars, max_sentences=2)[0])
            else:
                body.append(f"{self.date():%Y-%m-%d %H:%M} {self.person()}")
        # The boilerplate stays the original site's even at another address (a mirror or scraper copy): another
        # site's menus would change a short page more than its own edits, and it would stop being a near copy.
        url, _ = self.copy_url(original)
        text = _page_text(original.site, body)
        if text == original.text:
            body.append(f"{self.date():%Y-%m-%d}")
            text = _page_text(original.site, body)
        return Page(original.lang, url, text, original.site, body, kind="near")


def _page_text(site: Site, body: list[str]) -> str:
    # CC's extracted text ends every line, the last one included, with "\n".
    return "\n".join([*site.header, *body, *site.footer]) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# WARC records
# ---------------------------------------------------------------------------------------------------------------


def block_digest(body: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode()


def record_uuid(seed: int, file_index: int, record_index: int, role: str = "conversion") -> str:
    return str(uuid.uuid5(RECORD_NAMESPACE, f"{seed}/{file_index}/{record_index}/{role}"))


def warc_record(headers: list[tuple[str, str]], body: bytes) -> bytes:
    """One record as its own gzip member; mtime=0 so the bytes depend on nothing but the content."""
    head = "WARC/1.0\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    return gzip.compress(head.encode() + body + b"\r\n\r\n", compresslevel=GZIP_LEVEL, mtime=0)


def warcinfo_record(file_name: str, record_id: str, seed: int) -> bytes:
    body = (
        "Software-Info: cc-refinery bench/corpus.py\r\n"
        f"isPartOf: {CRAWL}\r\n"
        "operator: cc-refinery benchmarks\r\n"
        f"description: Synthetic WET file modelled on {CRAWL} (seed {seed})\r\n"
        "publisher: cc-refinery\r\n\r\n"
    ).encode()
    headers = [
        ("WARC-Type", "warcinfo"),
        ("WARC-Date", f"{CRAWL_START + timedelta(seconds=CRAWL_SECONDS):%Y-%m-%dT%H:%M:%SZ}"),
        ("WARC-Filename", file_name),
        ("WARC-Record-ID", f"<urn:uuid:{record_id}>"),
        ("Content-Type", "application/warc-fields"),
        ("Content-Length", str(len(body))),
        ("WARC-Block-Digest", block_digest(body)),
    ]
    return warc_record(headers, body)


def conversion_record(page: Page, record_id: str, refers_to: str, date: datetime) -> bytes:
    body = page.text.encode()
    digest = block_digest(body)
    headers = [
        ("WARC-Type", "conversion"),
        ("WARC-Target-URI", page.url),
        ("WARC-Date", f"{date:%Y-%m-%dT%H:%M:%SZ}"),
        ("WARC-Record-ID", f"<urn:uuid:{record_id}>"),
        ("WARC-Refers-To", f"<urn:uuid:{refers_to}>"),
        ("WARC-Block-Digest", digest),
        ("WARC-Identified-Content-Language", BY_CODE[page.lang].iso3),
        ("Content-Type", "text/plain"),
        ("Content-Length", str(len(body))),
        ("WARC-Payload-Digest", digest),
    ]
    return warc_record(headers, body)


# ---------------------------------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------------------------------


def file_name(index: int) -> str:
    return f"bench-{index:05d}.warc.wet.gz"


def build_corpus(out_dir: Path, mb: float, files: int, seed: int = 0) -> CorpusSummary:
    """Write the files and return what was planted in them."""
    if mb <= 0 or files < 1:
        raise ValueError("--mb must be > 0 and --files >= 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    maker = PageMaker(rng, Sites(seed))
    summary = CorpusSummary(paths=[], pools=pools_digest())
    sources: list[tuple[Page, str]] = []
    seen_sources = 0
    total_bytes = int(mb * MB)
    written = 0
    for file_index in range(files):
        path = out_dir / file_name(file_index)
        # Targets are cumulative, so each file's overshoot (at most part of one page) is taken from the next.
        file_target = total_bytes * (file_index + 1) // files
        with path.open("wb") as handle:
            handle.write(warcinfo_record(path.name, record_uuid(seed, file_index, 0, "warcinfo"), seed))
            record_index = 0
            while (remaining := file_target - written) > 0:
                lang = maker.language()
                max_chars = int(remaining / text_pool(lang).bytes_per_char)
                if max_chars < MIN_PAGE_CHARS:
                    break
                draw = rng.random()
                original: tuple[Page, str] | None = rng.choice(sources) if sources else None
                if draw < EXACT_COPY_SHARE and original and len(original[0].text.encode()) <= remaining:
                    source_page, source_id = original
                    url, site = maker.copy_url(source_page)
                    page = Page(source_page.lang, url, source_page.text, site, source_page.body, "exact", source_id)
                elif draw < EXACT_COPY_SHARE + NEAR_COPY_SHARE and original and len(original[0].body) >= 4:
                    page = maker.near_copy(original[0])
                    page.source_id = original[1]
                elif draw < EXACT_COPY_SHARE + NEAR_COPY_SHARE + SPAM_SHARE:
                    page = maker.spam(lang)
                else:
                    page = maker.normal(lang, max_chars)
                if page.kind in ("spam", "near") and len(page.text.encode()) > remaining:
                    page = maker.normal(lang, max_chars)  # keeps the last page of a file within the budget
                record_index += 1
                record_id = record_uuid(seed, file_index, record_index)
                refers_to = record_uuid(seed, file_index, record_index, "response")
                handle.write(conversion_record(page, record_id, refers_to, maker.date()))
                size = len(page.text.encode())
                written += size
                summary.documents_by_lang[page.lang] += 1
                summary.bytes_by_lang[page.lang] += size
                if page.kind == "spam":
                    summary.spam_ids.append(record_id)
                elif page.kind == "exact":
                    summary.exact_copies.append((record_id, page.source_id or ""))
                elif page.kind == "near":
                    summary.near_copies.append((record_id, page.source_id or ""))
                else:
                    # Reservoir sample of originals: every earlier normal page equally likely to be copied.
                    seen_sources += 1
                    if len(sources) < COPY_SOURCES:
                        sources.append((page, record_id))
                    elif (slot := rng.randrange(seen_sources)) < COPY_SOURCES:
                        sources[slot] = (page, record_id)
        summary.paths.append(path)
    return summary


def generate(out_dir: Path, mb: float, files: int, seed: int = 0) -> list[Path]:
    """Write ``files`` WET files with about ``mb`` MB of text in total into ``out_dir``; returns their paths."""
    return build_corpus(out_dir, mb, files, seed).paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--mb", type=float, required=True, help="MB (10^6 bytes) of text, all files together")
    parser.add_argument("--files", type=int, default=8, help="number of WET files (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--describe", action="store_true", help="print documents per language and what was planted")
    parser.add_argument("--truth", type=Path, help="write the planted spam ids and copy pairs to this JSON file")
    args = parser.parse_args(argv)
    if args.mb <= 0 or args.files < 1:
        parser.error("--mb must be > 0 and --files >= 1")
    stale = sorted(p.name for p in args.out.glob("bench-*.warc.wet.gz") if p.name >= file_name(args.files))
    start = time.perf_counter()
    summary = build_corpus(args.out, args.mb, args.files, args.seed)
    seconds = time.perf_counter() - start
    print(
        f"wrote {len(summary.paths)} files to {args.out}: {summary.documents} documents, "
        f"{summary.body_bytes / MB:.2f} MB of text in {seconds:.1f} s ({summary.body_bytes / MB / seconds:.1f} MB/s)"
    )
    if stale:
        print(f"note: {args.out} also holds files of an earlier, larger run: {stale[0]} …", file=sys.stderr)
    if args.describe:
        print(summary.describe())
    if args.truth:
        args.truth.write_text(json.dumps(summary.truth(), indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
