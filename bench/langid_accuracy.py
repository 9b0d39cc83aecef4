"""Language-ID accuracy on single sentences of the biggest web languages: raw lid.176 against our detector.

    .venv/bin/python bench/langid_accuracy.py [--per-lang 200] [--errors LANG]

Labelled sentences from two sources, reported separately and together:

- ``tatoeba``: tests/fixtures/lid/cld2_tatoeba_long.tsv (Tatoeba, CC-BY 2.0): 4-6 long sentences per language,
  chosen among sentences CLD2 gets right — easy, and too few to tell languages apart.
- ``gettext``: the translated message catalogues installed on this machine (``/usr/share/locale/<lang>/LC_MESSAGES
  /*.mo``, read with Python's ``gettext``): single-line messages of 20-200 characters and at least 4 words (8
  letters for zh/ja) whose translation differs from the English source; English is the catalogues' source strings.
  Short, technical UI sentences ("Failed to open file", option names): harder than web prose, and a fair test of
  short-text behaviour. Printf/brace placeholders, markup and menu accelerators are removed first (they are not
  sentences). Deterministic sample: the first ``--per-lang`` by MD5 of the text. Machine-dependent: the counts
  depend on the installed packages.

Columns: ``raw`` = lid.176.ftz top label on the text as-is (newlines → spaces); ``ours`` = udfs.langid with the
conf defaults; ``no_second`` and ``no_script`` = ours with the second detector / script evidence switched off.
"""

from __future__ import annotations

import argparse
import gettext
import glob
import hashlib
import os
import re
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from udfs.langid import LangIdConfig, _load_fasttext, detect_languages  # noqa: E402
from udfs.models import bundled_lid_model_path  # noqa: E402

# lid.176 label → locale directories of its translations (None: English, the catalogues' source language).
LOCALES: dict[str, list[str] | None] = {
    "en": None, "ru": ["ru"], "de": ["de"], "zh": ["zh_CN", "zh_TW"], "ja": ["ja"], "es": ["es"], "fr": ["fr"],
    "pt": ["pt", "pt_BR"], "it": ["it"], "pl": ["pl"], "nl": ["nl"], "tr": ["tr"], "vi": ["vi"], "id": ["id"],
    "cs": ["cs"], "fa": ["fa"], "ar": ["ar"], "ko": ["ko"], "uk": ["uk"], "sv": ["sv"], "sk": ["sk"], "ms": ["ms"],
    # the partners of the other confusable groups in conf/langid.yaml
    "hr": ["hr"], "sr": ["sr", "sr@latin"], "bs": ["bs"], "da": ["da"], "no": ["nb"], "nn": ["nn"],
}  # fmt: skip
BIG_WEB = [lang for lang in LOCALES if lang not in ("hr", "sr", "bs", "da", "no", "nn")]
TATOEBA_TO_LID = {
    "eng": "en", "cmn": "zh", "zho": "zh", "rus": "ru", "deu": "de", "spa": "es", "jpn": "ja", "fra": "fr",
    "ita": "it", "por": "pt", "pol": "pl", "nld": "nl", "tur": "tr", "vie": "vi", "ind": "id", "ces": "cs",
    "kor": "ko", "ukr": "uk", "arb": "ar", "ara": "ar", "pes": "fa", "fas": "fa", "swe": "sv", "slk": "sk",
    "zsm": "ms", "msa": "ms",
}  # fmt: skip
_PLACEHOLDER = re.compile(
    r"%(\d+\$)?[-+ #0]*\d*(\.\d+)?[hlLqjzt]*[a-zA-Z%]|\{[^}]*\}|\$\{?\w+\}?|<[^>]*>|&\w+;|_(?=\w)|~(?=\w)"
)


def _catalogue(path: str) -> dict[object, str]:
    try:
        with open(path, "rb") as handle:
            return gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    except (UnicodeDecodeError, OSError):
        return {}  # a few catalogues declare a legacy charset in a header Python cannot decode


def _sentence(message: str, lang: str) -> str | None:
    if "\n" in message:
        return None
    text = re.sub(r"\s+", " ", _PLACEHOLDER.sub("", message)).strip()
    if not 20 <= len(text) <= 200:
        return None
    if lang in ("zh", "ja"):
        return text if len(re.findall(r"[^\W\d_]", text)) >= 8 else None
    return text if len(text.split()) >= 4 else None


def gettext_sentences(per_lang: int) -> pd.DataFrame:
    rows = []
    for lang, directories in LOCALES.items():
        found: set[str] = set()
        for directory in directories or ["de"]:
            for path in sorted(glob.glob(f"/usr/share/locale/{directory}/LC_MESSAGES/*.mo")):
                if os.path.basename(path).startswith("iso_"):
                    continue  # country and language names, not sentences
                for key, translation in _catalogue(path).items():
                    source = key[0] if isinstance(key, tuple) else key
                    if not source or not translation or (directories is not None and translation == source):
                        continue
                    sentence = _sentence(source if directories is None else translation, lang)
                    if sentence:
                        found.add(sentence)
        chosen = sorted(found, key=lambda s: hashlib.md5(s.encode()).hexdigest())[:per_lang]
        rows += [("gettext", lang, sentence) for sentence in chosen]
    return pd.DataFrame(rows, columns=["source", "lang", "text"])


def tatoeba_sentences() -> pd.DataFrame:
    table = pd.read_csv(REPO / "tests" / "fixtures" / "lid" / "cld2_tatoeba_long.tsv", sep="\t")
    table = table[table["Tatoeba-iso-639-3"].isin(TATOEBA_TO_LID)]
    return pd.DataFrame(
        {"source": "tatoeba", "lang": table["Tatoeba-iso-639-3"].map(TATOEBA_TO_LID), "text": table["text"]}
    )


def _accuracy_table(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    correct = frame[columns].eq(frame["lang"], axis=0)
    table = correct.groupby(frame["lang"]).mean()
    table.insert(0, "n", frame.groupby("lang").size())
    overall = pd.DataFrame([[len(frame), *correct.mean().tolist()]], columns=["n", *columns], index=["ALL"])
    macro = pd.DataFrame([[len(table), *table[columns].mean().tolist()]], columns=["n", *columns], index=["MACRO"])
    return pd.concat([table, overall, macro])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-lang", type=int, default=200, help="gettext sentences per language")
    parser.add_argument("--errors", help="print the sentences of this language that ours gets wrong")
    args = parser.parse_args()

    frame = pd.concat([gettext_sentences(args.per_lang), tatoeba_sentences()], ignore_index=True)
    model = _load_fasttext(bundled_lid_model_path())
    start = time.perf_counter()
    labels, _ = model.predict([text.replace("\n", " ") for text in frame["text"]], k=1)
    raw_seconds = time.perf_counter() - start
    frame["raw"] = [label[0].removeprefix("__label__") for label in labels]
    conf = LangIdConfig()
    start = time.perf_counter()
    ours = detect_languages(frame["text"], conf)
    ours_seconds = time.perf_counter() - start
    frame["ours"], frame["method"] = ours["lang"].to_numpy(), ours["lang_method"].to_numpy()
    frame["no_second"] = detect_languages(frame["text"], LangIdConfig(second_detector=None))["lang"].to_numpy()
    frame["no_script"] = detect_languages(frame["text"], LangIdConfig(script_evidence=False))["lang"].to_numpy()

    columns = ["raw", "ours", "no_second", "no_script"]
    pd.set_option("display.width", 160)
    for source in ("gettext", "tatoeba"):
        print(f"\n== {source}: accuracy per language (n = sentences)")
        print(_accuracy_table(frame[frame["source"] == source], columns).round(3).to_string())
    print("\n== both sources")
    print(_accuracy_table(frame, columns).loc[["ALL", "MACRO"]].round(4).to_string())
    print("\n== both sources, the 20 big web languages plus sk, ms (without hr, sr, bs, da, no, nn)")
    big = frame[frame["lang"].isin(BIG_WEB)]
    print(_accuracy_table(big, columns).loc[["ALL", "MACRO"]].round(4).to_string())
    print("\nlang_method:", frame["method"].value_counts().to_dict())
    changed = frame[frame["raw"] != frame["ours"]]
    fixed, broken = (changed["ours"] == changed["lang"]).sum(), (changed["raw"] == changed["lang"]).sum()
    print(f"ours differs from raw on {len(changed)} sentences: {fixed} fixed, {broken} broken")
    per_ms = 1000 / len(frame)
    print(f"time per sentence: raw {raw_seconds * per_ms:.3f} ms, ours {ours_seconds * per_ms:.3f} ms "
          f"(ratio {ours_seconds / raw_seconds:.1f}x)")  # fmt: skip
    if args.errors:
        wrong = frame[(frame["lang"] == args.errors) & (frame["ours"] != args.errors)]
        for row in wrong.itertuples():
            print(f"  raw={row.raw} ours={row.ours} ({row.method}): {row.text[:120]}")


if __name__ == "__main__":
    main()
