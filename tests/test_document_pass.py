"""The shard phase's fused pass (udfs.document_pass, no Spark): later stages skip the rows earlier stages drop, and
only rows every stage keeps get dedup keys — the same keys as scoring every row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from udfs.config import load_config
from udfs.dedup.minhash import batch_band_hashes, exact_keys
from udfs.document_pass import QUALITY_TEXT, URL_CATEGORY, add_scores, pass_columns, score_documents
from udfs.ingest import read_file_rows
from udfs.langid import langid_reasons
from udfs.quality.rules import output_columns, reasons, tag_batch
from udfs.warc import ReaderLimits

REPO = Path(__file__).resolve().parents[1]
STAGES = ("normalize", "langid", "quality", "dedup")
CONF = load_config(REPO / "conf" / "local.yaml")

GOOD = (
    "The committee met on Tuesday to discuss the new budget for the public library. Members agreed that the "
    "reading room needs better lighting and that the children's section should open on Sunday afternoons.\n"
    "Several residents spoke in favour of longer opening hours. One of them said that the library is the only "
    "quiet place in the neighbourhood where students can work in the evening.\n"
    "The final decision will be taken at the next meeting, after the treasurer has presented the accounts."
)
MENU = "\n".join(["Read the latest news", "About the library", "Opening hours and prices", "Contact the staff",
                  "Books for children", "Events this week", "Join the reading club", "Help with your account"] * 2)


def sample_batch() -> pd.DataFrame:
    limits = ReaderLimits(CONF.ingest.max_record_bytes, CONF.ingest.max_invalid_utf8_ratio)
    path = REPO / "tests" / "fixtures" / "wet" / "derived_dolma_sample-0000.warc.wet.gz"
    rows = [batch.to_pydict() for batch in read_file_rows(0, str(path), CONF.s3, limits, 10_000)]
    columns = {name: [v for r in rows for v in r[name]] for name in ("text", "url", "reason", "_kind")}
    live = [i for i, (kind, reason) in enumerate(zip(columns["_kind"], columns["reason"], strict=True))
            if kind == "doc" and reason is None]
    return pd.DataFrame({"text": [columns["text"][i] for i in live], "url": [columns["url"][i] for i in live]})


def test_literal_rows_get_keys_only_when_every_stage_keeps_them() -> None:
    batch = pd.DataFrame({
        "text": [GOOD, MENU, "\u200b\u200b  \x07", "12345 67890"],
        "url": ["http://example.com/a", "http://example.com/b", "http://example.com/c", "http://example.com/d"],
    })
    out = score_documents(batch, STAGES, CONF)
    assert out["text"].tolist()[2:] == ["", "12345 67890"]
    # The empty page and the page without language are never judged by quality; the menu page is.
    assert out[QUALITY_TEXT].isna().tolist() == [False, False, True, True]
    assert out["fw_short_line_ratio"].notna().tolist() == [True, True, False, False]
    assert out["_text_length"].tolist() == [len(GOOD), None, None, None]
    assert [key is not None for key in out["_exact_key"]] == [True, False, False, False]
    assert [bands is not None for bands in out["_bands"]] == [True, False, False, False]


def test_keys_are_those_of_scoring_every_row_on_a_real_wet_file() -> None:
    batch = sample_batch()
    out = score_documents(batch, STAGES, CONF)
    langs = out["lang"]
    judged = tag_batch(pd.DataFrame({"text": out["text"], "url": batch["url"], "lang": langs}), CONF.quality)
    quality = reasons(judged[list(output_columns(CONF.quality))[1:]], langs, CONF.quality)
    kept = ((out["text"].str.len() > 0) & langid_reasons(langs, out["lang_score"], CONF.langid).isna()
            & quality.isna()).to_numpy()
    assert 0 < kept.sum() < len(batch)  # the sample has pages of both kinds
    assert out["_text_length"].notna().to_numpy().tolist() == kept.tolist()

    near = CONF.dedup.near
    every = batch_band_hashes(judged["text"], langs, near, sketch_size=near.verify_sketch_size)
    every_exact = exact_keys(judged["text"], CONF.dedup.exact.text_key)
    for row in np.flatnonzero(kept):
        assert out["_text_length"][row] == len(judged["text"][row])
        assert out["_exact_key"][row] == every_exact[row]
        assert out["_sketch"][row] == every.sketches[row]
        assert list(out["_bands"][row]) == list(every.hashes[row])


def test_every_row_gets_its_url_category_with_the_language_the_output_shows() -> None:
    # The first rule holds for Chinese pages only: the Chinese page gets it; the same site's page that ingest
    # rejected has no language (null in the output too), so it falls through to the second rule, as Spark would.
    rules = "[{category: news, domains: [example.cn], langs: [zh]}, {category: blogs, url_patterns: [/blog/]}]"
    conf = load_config(REPO / "conf" / "local.yaml", [f"categories.rules={rules}"])
    stages = ("normalize", "langid", "tokens")
    chinese = "委员会周二开会讨论公共图书馆的新预算。成员们一致认为阅览室需要更好的照明，儿童区应在周日下午开放。" * 3
    columns = {
        "text": [chinese, "", GOOD],
        "url": ["http://example.cn/blog/1", "http://example.cn/blog/2", "http://other.org/page"],
        "domain": ["example.cn", "example.cn", "other.org"],
        "reason": [None, "ingest:empty_record", None],
    }
    kinds = pass_columns(stages, conf)
    assert kinds[URL_CATEGORY] == "string"
    out = add_scores(columns, stages, conf, kinds)
    assert out["lang"].to_pylist() == ["zh", None, "en"]
    assert out[URL_CATEGORY].to_pylist() == ["news", "blogs", "other"]
