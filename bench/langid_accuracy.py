"""Language-ID accuracy and CPU cost on single sentences: the DEV or TEST set of bench/langid_data.py (28
languages × 200, none from this repository; build it first), our detector against its parts and a baseline revision.

    .venv/bin/python bench/langid_data.py                                   # once: .cache/langid/{dev,test}.tsv
    .venv/bin/python bench/langid_accuracy.py --split test --baseline fb92f59 [--errors id] [--gettext]

Columns: ``fasttext`` = lid.176.ftz top label on the cleaned text; ``baseline`` = udfs.langid at
``--baseline`` (its udfs/ unpacked with git archive into .cache/langid/, run in a subprocess on the same
sentences); ``ours`` = udfs.langid with conf/langid.yaml; ``no_vote`` = ours with fastText alone (script evidence
kept); ``ft+py3`` = the vote of fastText and py3langid only, no language terms; ``no_bias`` = ours without the
per-language terms; ``vote_all`` = ours with every sentence voted on (no fastText gate). Summary rows: macro and
worst over the 20 big web languages (the issue's target), macro over all 28. Speed: CPU seconds
(``time.process_time``, least of ``--repeats``) of ``detect_languages`` over the whole set, as sentences per
second per core; ``--pages``: pages per second per core on real WET files instead.

``--gettext`` adds the older table: gettext catalogue messages and the Tatoeba fixture (see ``gettext_sentences``).
"""

from __future__ import annotations

import argparse
import gettext
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dataclasses import replace  # noqa: E402

from udfs.config import load_yaml_layers  # noqa: E402
from udfs.langid import LangIdConfig, _load_fasttext, clean_for_langid, detect_languages, langid_reasons  # noqa: E402
from udfs.models import bundled_lid_model_path  # noqa: E402

# lid.176 label → locale directories of its translations (None: English, the catalogues' source language).
LOCALES: dict[str, list[str] | None] = {
    "en": None, "ru": ["ru"], "de": ["de"], "zh": ["zh_CN", "zh_TW"], "ja": ["ja"], "es": ["es"], "fr": ["fr"],
    "pt": ["pt", "pt_BR"], "it": ["it"], "pl": ["pl"], "nl": ["nl"], "tr": ["tr"], "vi": ["vi"], "id": ["id"],
    "cs": ["cs"], "fa": ["fa"], "ar": ["ar"], "ko": ["ko"], "uk": ["uk"], "sv": ["sv"], "sk": ["sk"], "ms": ["ms"],
    # the partners of the other confusable groups in conf/langid.yaml
    "hr": ["hr"], "sr": ["sr", "sr@latin"], "bs": ["bs"], "da": ["da"], "no": ["nb"], "nn": ["nn"],
}  # fmt: skip
# The 20 biggest web languages: the target (macro >= 0.99, none below 0.97) is over these.
BIG_20 = [lang for lang in LOCALES if lang not in ("sk", "ms", "hr", "sr", "bs", "da", "no", "nn")]
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
    big = table.loc[[lang for lang in BIG_20 if lang in table.index]]
    summary = pd.DataFrame(
        [[len(big), *big[columns].mean().tolist()], [len(big), *big[columns].min().tolist()],
         [len(table), *table[columns].mean().tolist()]],
        columns=["n", *columns], index=["MACRO big-20", "WORST big-20", "MACRO all"],
    )  # fmt: skip
    return pd.concat([table, summary])


def _predict(texts: pd.Series, conf: LangIdConfig, repeats: int) -> tuple[pd.DataFrame, float]:
    """Predictions and the least CPU seconds of ``repeats`` runs (CPU time: the machine is shared)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        result = detect_languages(texts, conf)
        best = min(best, time.process_time() - start)
    return result, best


def _kept_right(frame: pd.DataFrame, langs: pd.Series, scores: pd.Series, conf: LangIdConfig) -> float:
    """Macro over the big 20 of the share of sentences both identified right and above the stage's min_score."""
    right = (langs.to_numpy() == frame["lang"].to_numpy()) & (langid_reasons(langs, scores, conf).isna().to_numpy())
    table = pd.Series(right).groupby(frame["lang"].to_numpy()).mean()
    return round(float(table[[lang for lang in BIG_20 if lang in table.index]].mean()), 4)


BASELINE_SCRIPT = """
import json, sys, time
import pandas as pd
sys.path.insert(0, sys.argv[1])
from udfs.langid import LangIdConfig, detect_languages
texts = pd.read_csv(sys.argv[2], sep="\\t", quoting=3, keep_default_na=False, dtype=str)["text"]
texts = texts.str.replace("\\\\n", "\\n", regex=False)  # pages: newlines escaped in the file
detect_languages(texts.head(50), LangIdConfig())
best = float("inf")
for _ in range(int(sys.argv[3])):
    start = time.process_time()
    result = detect_languages(texts, LangIdConfig())
    best = min(best, time.process_time() - start)
print(json.dumps({"langs": result["lang"].tolist(), "scores": result["lang_score"].tolist(), "seconds": best}))
"""


def baseline(revision: str, split_path: Path, repeats: int) -> tuple[list[str | None], list[float], float]:
    """Predictions, scores and CPU seconds of ``udfs.langid`` at ``revision``, on the same sentences."""
    tree = REPO / ".cache" / "langid" / f"baseline-{revision}"
    if not (tree / "udfs").exists():
        # The revision's udfs/ only, unpacked from git (no worktree: the repository's metadata stays untouched).
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "udfs"], check=True,
                                 capture_output=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    out = subprocess.run([sys.executable, "-c", BASELINE_SCRIPT, str(tree), str(split_path), str(repeats)],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    result = json.loads(out.splitlines()[-1])
    return result["langs"], result["scores"], result["seconds"]


def wet_pages(paths: list[str]) -> pd.Series:
    """The texts of the WET conversion records of ``paths`` (for the pages/s figure)."""
    from udfs.warc import read_wet

    texts = []
    for path in paths:
        with open(path, "rb") as handle:
            texts += [document.text for document in read_wet(handle, path) if document.url]
    return pd.Series(texts, dtype=object)


def page_speed(paths: list[str], revision: str | None, repeats: int) -> None:
    """Pages per CPU second of ``detect_languages`` on real WET pages, ours and ``revision`` on the same pages."""
    pages = wet_pages(paths)
    conf = LangIdConfig.from_dict(load_yaml_layers(str(REPO / "conf" / "langid.yaml"))["langid"], "langid")
    detect_languages(pages.head(20), conf)
    result, seconds = _predict(pages, conf, repeats)
    mixed, mixed_seconds = _predict(pages, replace(conf, mixed_enabled=True), repeats)
    chars = int(pages.str.len().sum())
    methods = result["lang_method"].value_counts().to_dict()
    print(f"{len(pages)} pages, {chars / 1e6:.1f} M characters; lang_method {methods}")
    print(f"ours: {len(pages) / seconds:.0f} pages/s per core (CPU {seconds:.3f} s); with lang_mixed on "
          f"{len(pages) / mixed_seconds:.0f} pages/s (lang_mixed > 0 on {int((mixed['lang_mixed'] > 0).sum())} "
          "pages)")  # fmt: skip
    if revision:
        path = REPO / ".cache" / "langid" / "pages.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        escaped = pages.str.replace("\t", " ", regex=False).str.replace("\n", "\\n", regex=False)
        pd.DataFrame({"text": escaped}).to_csv(path, sep="\t", index=False, quoting=3, escapechar="\x01")
        langs, _, base_seconds = baseline(revision, path, repeats)
        same = sum(a == b for a, b in zip(langs, result["lang"].tolist(), strict=True))
        print(f"baseline {revision}: {len(pages) / base_seconds:.0f} pages/s per core (CPU {base_seconds:.3f} s); "
              f"same lang on {same} of {len(pages)} pages")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="dev", choices=["dev", "test"], help="which set of langid_data.py")
    parser.add_argument("--baseline", help="git revision whose udfs.langid is measured in the same run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (the least CPU time counts)")
    parser.add_argument("--errors", help="print the sentences of this language that ours gets wrong")
    parser.add_argument("--gettext", action="store_true", help="also the gettext + Tatoeba table (machine-dependent)")
    parser.add_argument("--pages", nargs="+", help="WET files: measure pages/s per core on them instead")
    args = parser.parse_args()
    if args.pages:
        page_speed(args.pages, args.baseline, args.repeats)
        return

    from bench.langid_data import REPO as DATA_REPO
    from bench.langid_data import load

    split_path = DATA_REPO / ".cache" / "langid" / f"{args.split}.tsv"
    frame = load(args.split)
    conf = LangIdConfig.from_dict(load_yaml_layers(str(REPO / "conf" / "langid.yaml"))["langid"], "langid")
    detect_languages(frame["text"].head(50), conf)  # load every model before timing
    model = _load_fasttext(bundled_lid_model_path())
    cleaned = [clean_for_langid(text, conf.max_chars) for text in frame["text"]]
    start = time.process_time()
    labels, _ = model.predict(cleaned, k=1)
    raw_seconds = time.process_time() - start
    frame["fasttext"] = [label[0].removeprefix("__label__") for label in labels]
    variants = {
        "ours": conf,
        "no_vote": replace(conf, ensemble_below_score=0.0),
        "ft+py3": replace(conf, ensemble_weights={"fasttext": 1.0, "py3langid": 1.0}, language_bias={}),
        "no_bias": replace(conf, language_bias={}),
        "vote_all": replace(conf, ensemble_below_score=1.0),
    }
    seconds: dict[str, float] = {"fasttext": raw_seconds}
    kept: dict[str, float] = {}
    for name, variant in variants.items():
        result, seconds[name] = _predict(frame["text"], variant, args.repeats if name == "ours" else 1)
        frame[name] = result["lang"].to_numpy()
        kept[name] = _kept_right(frame, result["lang"], result["lang_score"], conf)
        if name == "ours":
            frame["method"] = result["lang_method"].to_numpy()
    columns = ["fasttext", *variants]
    if args.baseline:
        langs, scores, seconds["baseline"] = baseline(args.baseline, split_path, args.repeats)
        frame["baseline"] = langs
        kept["baseline"] = _kept_right(frame, pd.Series(langs), pd.Series(scores, dtype=float), conf)
        columns.insert(1, "baseline")
    pd.set_option("display.width", 200)
    print(f"== {args.split}: accuracy per language ({len(frame)} sentences)")
    print(_accuracy_table(frame, columns).round(3).to_string())
    print("\nright and kept (lang right, lang_score >= its min_score), macro big-20:", kept)
    print("lang_method:", frame["method"].value_counts().to_dict())
    print("CPU ms per sentence:", {name: round(value * 1000 / len(frame), 4) for name, value in seconds.items()})
    print("sentences/s per core:", {name: round(len(frame) / value) for name, value in seconds.items()})
    if args.errors:
        wrong = frame[(frame["lang"] == args.errors) & (frame["ours"] != args.errors)]
        for row in wrong.itertuples():
            print(f"  fasttext={row.fasttext} ours={row.ours} ({row.method}): {row.text[:120]}")
    if args.gettext:
        extra = pd.concat([gettext_sentences(200), tatoeba_sentences()], ignore_index=True)
        extra["ours"] = detect_languages(extra["text"], conf)["lang"].to_numpy()
        for source in ("gettext", "tatoeba"):
            print(f"\n== {source}")
            print(_accuracy_table(extra[extra["source"] == source], ["ours"]).round(3).to_string())


if __name__ == "__main__":
    main()
