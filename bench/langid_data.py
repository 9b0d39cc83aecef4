"""Labelled single sentences for language ID, built from translated text installed on this machine (none of it
from this repository): a DEV set to choose rules, weights and thresholds, and a disjoint TEST set to report on.

    .venv/bin/python bench/langid_data.py [--per-lang 200] [--out .cache/langid]   # writes dev.tsv, test.tsv

Sources, best first (each language takes what its prose sources give, then fills up from the next):

1. ``doc``: translated Debian manuals, HTML, paragraphs outside ``<pre>``/``<code>``: the Installation Guide
   (``installation-guide-amd64``, /usr/share/doc/installation-guide-amd64/<lang>/), the Debian Reference
   (``debian-reference-<lang>``, /usr/share/doc/debian-reference-common/docs/*.<lang>.html) and the Debian FAQ
   (``debian-faq-<lang>``, /usr/share/doc/debian/FAQ/<lang>/). Licences: GPL-2 (guide), GPL-2+ (reference); the FAQ
   per its package's copyright file.
2. ``man``: translated manual pages (``manpages-<lang>`` and the translations other packages ship,
   /usr/share/man/<locale>/), roff markup removed, running text only (no request lines, no tables).
3. ``fortune``: fortune-cookie files (``fortunes-cs`` — Czech, and Slovak in ``klasik-sk`` —, ``fortunes-de``,
   ``fortunes-es``, ``fortunes-it``, ``fortunes-pl``, ``fortunes-ru``, ``fortunes-br``, ``fortunes-zh`` without
   the classical-poetry files): quotations, proverbs, jokes — the closest to web prose here (GPL-2+ mostly; each
   package's /usr/share/doc/<package>/copyright says).
4. ``gettext``: translated UI messages (/usr/share/locale/<locale>/LC_MESSAGES/*.mo), the short technical fill for
   languages with little prose installed (ar, fa, ms, bs, nn, and sk/hr beyond the above).

Install the sources with ``apt-get install installation-guide-amd64 debian-reference-{en,de,es,fr,id,it,ja,pt,
zh-cn} debian-faq-{ko,nl,pt,ru,zh-cn} manpages-{cs,da,de,es,fr,id,it,ja,nb,nl,pl,pt-br,ru,sr,sv,tr,uk,vi,zh}
fortunes-{cs,de,es,it,pl,ru,br,zh}``; what is not installed is skipped, so the counts depend on the machine
(the script prints them per language and source).

Text is split into sentences at sentence punctuation; a sentence is kept at 20-200 characters, not starting with
an option (``-``) nor holding a character of code, paths or markup (``[]{}|<>=\\/@$#*_%~^``), ending in
sentence punctuation (prose sources), with at least 4
words (8 letters for zh/ja), letters at least half of its non-space characters, and, for a language not written in
Latin script, at least half of its letters in that language's script. Translated manuals keep untranslated
English paragraphs: a sentence of another language that also occurs in the English sources, or whose words are
one in five or more English function words, is dropped (label cleaning that consults no detector).
Deterministic: each language's sentences are ordered by MD5 of the text; the first ``2 × per-lang`` are taken and
alternate DEV, TEST, DEV, ...; prose sources first, gettext only to fill up.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import html.parser
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.langid_accuracy import LOCALES, gettext_sentences  # noqa: E402
from udfs.langid import script_shares  # noqa: E402

# lid.176 label → (doc directory/suffix names, man locale directories, fortune files (globs)).
DOC_NAMES: dict[str, list[str]] = {
    "en": ["en"], "de": ["de"], "es": ["es"], "fr": ["fr"], "id": ["id"], "it": ["it"], "ja": ["ja"],
    "pt": ["pt", "pt-br"], "zh": ["zh-cn", "zh_CN", "zh-tw", "zh_TW"], "ko": ["ko"], "nl": ["nl"], "ru": ["ru"],
    "cs": ["cs"], "da": ["da"], "sv": ["sv"], "vi": ["vi"],
}  # fmt: skip
MAN_LOCALES: dict[str, list[str]] = {
    "en": [""], "ru": ["ru"], "de": ["de"], "zh": ["zh_CN", "zh_TW"], "ja": ["ja"], "es": ["es"], "fr": ["fr"],
    "pt": ["pt", "pt_BR"], "it": ["it"], "pl": ["pl"], "nl": ["nl"], "tr": ["tr"], "vi": ["vi"], "id": ["id"],
    "cs": ["cs"], "ko": ["ko"], "uk": ["uk"], "sv": ["sv"], "hr": ["hr"], "sr": ["sr"], "da": ["da"], "no": ["nb"],
}  # fmt: skip
FORTUNES: dict[str, list[str]] = {
    "cs": [f"cs/{name}" for name in ("citace", "citat", "guth", "ignac", "jerome", "josef", "klasik-cz", "market",
                                     "murphy", "parkinson", "pratchett", "prislovi", "stopar")],
    "sk": ["cs/klasik-sk"], "de": ["de/*"], "es": ["es/*"], "it": ["it/*"], "pl": ["pl/*"], "ru": ["ru/*"],
    "pt": ["brasil"], "zh": ["chinese"],
}  # fmt: skip
# Scripts of the languages not written in Latin (udfs.langid.script_shares names).
NON_LATIN_SCRIPT: dict[str, list[str]] = {
    "ru": ["cyrillic"], "uk": ["cyrillic"], "sr": ["cyrillic", "latin"], "ar": ["arabic"], "fa": ["arabic"],
    "zh": ["han"], "ja": ["han", "kana"], "ko": ["hangul", "han"],
}  # fmt: skip
ENGLISH_FUNCTION_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "is",
        "are",
        "was",
        "be",
        "this",
        "that",
        "with",
        "for",
        "on",
        "by",
        "as",
        "it",
        "not",
        "from",
        "can",
        "if",
        "you",
        "your",
        "which",
    ]
)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
_SPACES = re.compile(r"\s+")
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+")


class _HtmlText(html.parser.HTMLParser):
    """Text blocks of an HTML page: a block ends at a block element; ``pre``/``code``/``script``/``style`` skipped."""

    _BLOCKS = frozenset(
        [
            "p",
            "div",
            "li",
            "td",
            "th",
            "dt",
            "dd",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "br",
            "tr",
            "table",
            "title",
            "blockquote",
        ]
    )
    _SKIP = frozenset(["pre", "code", "script", "style", "tt", "kbd", "samp"])

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._current: list[str] = []
        self._skipping = 0

    def _flush(self) -> None:
        if self._current:
            self.blocks.append("".join(self._current))
            self._current = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._current.append(data)


def _read(path: str) -> str | None:
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            return handle.read().decode("utf-8")
    except (UnicodeDecodeError, OSError, EOFError):
        return None  # legacy encodings are skipped rather than guessed


def doc_blocks(lang: str) -> Iterator[str]:
    paths: list[str] = []
    for name in DOC_NAMES.get(lang, []):
        paths += glob.glob(f"/usr/share/doc/installation-guide-amd64/{name}/*.html")
        paths += glob.glob(f"/usr/share/doc/debian-reference-common/docs/*.{name}.html")
        paths += glob.glob(f"/usr/share/doc/debian/FAQ/{name}/*.html")
    for path in sorted(set(paths)):
        text = _read(path)
        if text:
            parser = _HtmlText()
            parser.feed(text)
            parser.close()
            yield from parser.blocks


_ROFF_ESCAPE = re.compile(r"\\f(\[[^]]*\]|\(..|.)|\\s[-+]?\d|\\\*(\(..|\[[^]]*\]|.)|\\[&|^%:/,)]|\\\"[^\n]*")
# roff accent names (``\(:a`` = ä): the accent character, then the combining mark it stands for.
_ROFF_ACCENT = {":": "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303", ",": "\u0327",
                "o": "\u030a", "v": "\u030c"}  # fmt: skip
_ROFF_ACCENTED = re.compile(r"\\(?:\(([:'`^~,ov])([A-Za-z])|\[([:'`^~,ov])([A-Za-z])\])")
_ROFF_CHAR = {r"\-": "-", r"\(em": "—", r"\(en": "–", r"\(aq": "'", r"\(dq": '"', r"\(lq": "“", r"\(rq": "”",
              r"\e": "\\", r"\ ": " ", r"\~": " "}  # fmt: skip


def _accented(match: re.Match[str]) -> str:
    accent, letter = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    return unicodedata.normalize("NFC", letter + _ROFF_ACCENT[accent])


def man_blocks(lang: str) -> Iterator[str]:
    """Paragraphs of running text of the manual pages of ``lang``: request lines end a paragraph and are dropped;
    ``.TS``…``.TE`` tables and ``.nf``…``.fi`` / ``.EX``…``.EE`` literal blocks are skipped."""
    for locale in MAN_LOCALES.get(lang, []):
        base = f"/usr/share/man/{locale}" if locale else "/usr/share/man"
        for path in sorted(glob.glob(f"{base}/man[1-8]/*.gz")):
            text = _read(path)
            if not text:
                continue
            paragraph: list[str] = []
            literal = False
            for line in text.splitlines():
                if line.startswith((".", "'")):
                    request = line[1:3]
                    if request in ("TS", "nf", "EX"):
                        literal = True
                    elif request in ("TE", "fi", "EE"):
                        literal = False
                    if paragraph:
                        yield " ".join(paragraph)
                        paragraph = []
                    continue
                if literal:
                    continue
                line = _ROFF_ACCENTED.sub(_accented, line)
                for escape, char in _ROFF_CHAR.items():
                    line = line.replace(escape, char)
                paragraph.append(_ROFF_ESCAPE.sub("", line))
            if paragraph:
                yield " ".join(paragraph)


def fortune_blocks(lang: str) -> Iterator[str]:
    for pattern in FORTUNES.get(lang, []):
        for path in sorted(glob.glob(f"/usr/share/games/fortunes/{pattern}")):
            if path.endswith((".dat", ".u8")) or os.path.isdir(path):
                continue
            text = _read(path)
            if text:
                # One cookie per "%" line; a cookie's lines are joined (verse and attributions included).
                yield from (" ".join(cookie.split()) for cookie in re.split(r"(?m)^%\s*$", text))


def sentences(blocks: Iterable[str]) -> Iterator[str]:
    for block in blocks:
        for sentence in _SENTENCE_END.split(_SPACES.sub(" ", block).strip()):
            yield sentence.strip()


_CODE_CHAR = re.compile(r"[][{}|<>=\\/@$#*_%~^]|^-")
_TERMINAL = (".", "!", "?", "。", "！", "？", "…")


def keep_sentence(text: str, lang: str, english: frozenset[str], prose: bool = True) -> bool:
    if not 20 <= len(text) <= 200 or _CODE_CHAR.search(text):
        return False  # command lines, option synopses, paths, markup: not sentences
    if prose and not text.endswith(_TERMINAL):
        return False  # a fragment cut at a roff request or an HTML block, not a sentence
    letters = len(_LETTER.findall(text))
    if letters < len(text.replace(" ", "")) / 2:
        return False
    if lang in ("zh", "ja"):
        if letters < 8:
            return False
    elif len(text.split()) < 4:
        return False
    scripts = NON_LATIN_SCRIPT.get(lang)
    shares = script_shares(text)
    if scripts is not None and sum(shares.get(script, 0.0) for script in scripts) < 0.5:
        return False
    if scripts is None and shares.get("latin", 0.0) < 0.9:
        return False
    if lang != "en":
        if text in english:
            return False
        words = [word.lower() for word in _WORD.findall(text)]
        if words and sum(word in ENGLISH_FUNCTION_WORDS for word in words) / len(words) >= 0.2:
            return False
    return True


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def build(per_lang: int) -> pd.DataFrame:
    """Rows (split, lang, source, text): per language up to ``per_lang`` DEV and ``per_lang`` TEST sentences."""
    english = frozenset(sentences([*doc_blocks("en"), *man_blocks("en")]))
    fill = gettext_sentences(per_lang * 4)
    rows: list[tuple[str, str, str, str]] = []
    taken: set[str] = set()
    for lang in LOCALES:
        chosen: list[tuple[str, str]] = []
        sources = (("doc", doc_blocks(lang)), ("man", man_blocks(lang)), ("fortune", fortune_blocks(lang)))
        prose: dict[str, str] = {}
        for source, blocks in sources:
            for sentence in sentences(blocks):
                if sentence not in taken and sentence not in prose and keep_sentence(sentence, lang, english):
                    prose[sentence] = source
        chosen = sorted(prose.items(), key=lambda item: _md5(item[0]))[: 2 * per_lang]
        if len(chosen) < 2 * per_lang:
            extra = [
                text
                for text in fill.loc[fill["lang"] == lang, "text"]
                if text not in prose and text not in taken and keep_sentence(text, lang, english, prose=False)
            ]
            chosen += [(text, "gettext") for text in sorted(extra, key=_md5)[: 2 * per_lang - len(chosen)]]
        for rank, (text, source) in enumerate(sorted(chosen, key=lambda item: _md5(item[0]))):
            rows.append(("dev" if rank % 2 == 0 else "test", lang, source, text))
            taken.add(text)
    return pd.DataFrame(rows, columns=["split", "lang", "source", "text"])


def load(split: str, out: Path = REPO / ".cache" / "langid") -> pd.DataFrame:
    """The ``split`` (``dev`` or ``test``) written by this script."""
    return pd.read_csv(out / f"{split}.tsv", sep="\t", quoting=3, keep_default_na=False, dtype=str)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-lang", type=int, default=200, help="sentences per language in each split")
    parser.add_argument("--out", type=Path, default=REPO / ".cache" / "langid")
    args = parser.parse_args()
    frame = build(args.per_lang)
    args.out.mkdir(parents=True, exist_ok=True)
    for split in ("dev", "test"):
        part = frame[frame["split"] == split].drop(columns="split")
        part.to_csv(args.out / f"{split}.tsv", sep="\t", index=False, quoting=3)
    counts = frame.groupby(["lang", "source"]).size().unstack(fill_value=0)
    counts["total"] = counts.sum(axis=1)
    print(counts.to_string())
    print(f"written: {args.out}/dev.tsv, {args.out}/test.tsv ({len(frame)} sentences)")


if __name__ == "__main__":
    main()
