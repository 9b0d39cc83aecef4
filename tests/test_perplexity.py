"""KenLM perplexity: normalization, tiny models trained with the built lmplz on real reference text, the stage's
buckets and drops, and the training job.

Clean text is the held-out tail of the reference files (never trained on); spam/boilerplate samples are literals.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from types import SimpleNamespace

import pandas as pd
import pytest
from pyspark.sql import functions as F

from tests.kenlm_fixtures import (  # noqa: F401 (fixtures)
    EN_REFERENCE,
    ZH_REFERENCE,
    kenlm_bin_fixture,
    kenlm_models_fixture,
    reference_lines,
)
from udfs.config import load_config
from udfs.errors import ConfigError
from udfs.perplexity import (
    Normalization,
    PerplexityConfig,
    bucket_of,
    document_perplexity,
    load_kenlm,
    normalize_for_lm,
    normalize_line,
    perplexity_reason,
    perplexity_reasons,
    score_documents,
)
from udfs.quality_classifier import QualityClassifierConfig

SPAM = {
    "en": [
        "Buy cheap viagra online casino bonus free spins best price click here buy now viagra casino poker slots",
        "Home | About Us | Contact | Privacy Policy | Terms of Service\nCopyright © 2024 All Rights Reserved.\n"
        "Login Register Cart (0) Checkout",
    ],
    "zh": [
        "澳门博彩网站免费注册送彩金点击进入官方网站百家乐真人娱乐",
        "首页 | 关于我们 | 联系我们 | 网站地图\n版权所有 © 2024 京ICP备12345678号",
    ],
}
CLEAN = {"en": reference_lines(EN_REFERENCE)[1], "zh": reference_lines(ZH_REFERENCE)[1]}


# -- normalization ------------------------------------------------------------------------------------------------
def test_normalization_lowercases_strips_accents_folds_digits_and_punctuation() -> None:
    assert normalize_line("Héllo, World! It's 2024 — “quoted” 3.14") == (
        "hello , world ! it ' s 0000 - \" quoted \" 0 . 00"
    )


def test_han_characters_are_tokens_and_full_width_punctuation_is_ascii() -> None:
    expected = "我 在 0000 年 买 了 这 本 书 , 非 常 好 ! iphone 00"
    assert normalize_line("我在2023年买了这本书，非常好！iPhone 15") == expected
    assert normalize_line("我在书", replace(Normalization(), han_characters=False)) == "我在书"


def test_paragraphs_are_lines_and_empty_ones_vanish() -> None:
    assert normalize_for_lm("First Line.\n\n  \nSecond\u200b one") == ["first line .", "second one"]
    assert normalize_for_lm("") == []


# -- config ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"percentiles": [60, 30]}, "perplexity.percentiles"),
        ({"cutoffs": {"en": [500, 100]}}, "perplexity.cutoffs.en"),
        ({"keep_buckets": ["head", "best"]}, "perplexity.keep_buckets"),
        ({"max_perplexity": {"en": 0}}, "perplexity.max_perplexity.en"),
        ({"enabled": True}, "perplexity.models"),
        ({"min_documents_for_cutoffs": 0}, "perplexity.min_documents_for_cutoffs"),
    ],
)
def test_bad_config_names_the_key(data: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        PerplexityConfig.from_dict(data, "perplexity")


def test_shipped_conf_is_off_and_set_keys_enable_it() -> None:
    conf = load_config("conf/defaults.yaml")
    assert conf.perplexity == PerplexityConfig() and conf.quality_classifier == QualityClassifierConfig()
    conf = load_config(
        "conf/defaults.yaml",
        ["perplexity.enabled=true", "perplexity.models.en=models/en.binary", "perplexity.max_perplexity.en=3000"],
    )
    assert conf.perplexity.enabled and conf.perplexity.models == {"en": "models/en.binary"}
    assert conf.perplexity.max_perplexity == {"en": 3000.0} and conf.perplexity.percentiles == (30.0, 60.0)


# -- rules -------------------------------------------------------------------------------------------------------
def test_buckets_on_both_sides_of_each_cutoff() -> None:
    assert [bucket_of(p, (100.0, 200.0)) for p in (99.9, 100.0, 199.9, 200.0)] == ["head", "middle", "middle", "tail"]
    assert bucket_of(None, (100.0, 200.0)) is None and bucket_of(50.0, None) is None


def test_reasons_follow_max_and_keep_buckets() -> None:
    conf = PerplexityConfig(max_perplexity={"default": 1000.0, "zh": 500.0}, keep_buckets=("head", "middle"))
    assert perplexity_reason(1000.0, "tail", "en", conf) == "perplexity:bucket_tail"
    assert perplexity_reason(1000.1, "tail", "en", conf) == "perplexity:max"
    assert perplexity_reason(500.1, "middle", "zh", conf) == "perplexity:max"
    assert perplexity_reason(499.0, "middle", "zh", conf) is None
    assert perplexity_reason(None, None, "fr", conf) is None


def test_stage_and_pandas_decide_alike(spark) -> None:
    """The same rows through the stage's Spark conditions and the pandas reference: one definition, same reasons."""
    from jobs.stages.common import first_reason, tag_rejects
    from jobs.stages.model_quality import perplexity_conditions

    rows = [
        ("a", "en", 1000.0, "tail"), ("b", "en", 1000.1, "head"), ("c", "zh", 500.1, "middle"),
        ("d", "zh", 499.0, "middle"), ("e", "fr", None, None), ("f", "en", 10.0, "head"), ("g", "en", 10.0, "middle"),
        ("h", None, 2000.0, "tail"), ("i", "zh", 400.0, "tail"),
    ]  # fmt: skip
    expected = ["perplexity:bucket_tail", "perplexity:max", "perplexity:max", "perplexity:bucket_middle", None, None,
                "perplexity:bucket_middle", "perplexity:max", "perplexity:bucket_tail"]  # fmt: skip
    conf = PerplexityConfig(max_perplexity={"default": 1000.0, "zh": 500.0}, keep_buckets=("head",))
    frame = spark.createDataFrame(
        [(*row, None, None) for row in rows],
        "id string, lang string, perplexity double, perplexity_bucket string, stage string, reason string",
    )
    decided = tag_rejects(frame, "quality", first_reason(perplexity_conditions(conf)))
    spark_reasons = {r["id"]: r["reason"] for r in decided.collect()}
    pandas_reasons = perplexity_reasons(
        [r[2] for r in rows], [r[3] for r in rows], [r[1] for r in rows], conf  # type: ignore[arg-type]
    )
    assert [spark_reasons[r[0]] for r in rows] == pandas_reasons == expected
    unlimited = PerplexityConfig(keep_buckets=("head", "middle", "tail"))
    assert perplexity_reasons([1e9], ["tail"], ["en"], unlimited) == [None]  # type: ignore[arg-type]
    assert perplexity_conditions(unlimited) == []


# -- tiny models on real text ------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_clean_text_scores_better_than_spam_and_boilerplate(kenlm_models: dict[str, str], lang: str) -> None:
    model = load_kenlm(kenlm_models[lang])
    clean = sorted(document_perplexity(model, text) for text in CLEAN[lang])
    spam = [document_perplexity(model, text) for text in SPAM[lang]]
    # Measured (3-gram): en clean median 132, max 391; spam 8343, 2937. zh clean median 102, max 287; 1387, 1179.
    assert min(spam) > clean[-1]
    assert min(spam) > 3 * clean[len(clean) // 2]


def test_score_documents_per_language_paragraphs_and_no_model(kenlm_models: dict[str, str]) -> None:
    conf = PerplexityConfig(models=kenlm_models, paragraph_perplexities=True)
    texts = pd.Series([CLEAN["en"][0] + "\n" + SPAM["en"][0], CLEAN["zh"][0], "Bonjour tout le monde", "", None])
    langs = pd.Series(["en", "zh", "fr", "en", "en"])
    scored = score_documents(texts, langs, conf)
    en_model = load_kenlm(kenlm_models["en"])
    assert math.isclose(scored["perplexity"][0], document_perplexity(en_model, texts[0]), rel_tol=1e-9)
    low, high = scored["paragraph_perplexities"][0]
    assert low < scored["perplexity"][0] < high  # the document value pools its two paragraphs
    assert scored["paragraph_perplexities"][1] is not None and len(scored["paragraph_perplexities"][1]) == 1
    assert scored["perplexity"][2:].isna().all()  # no French model; empty and null texts have no tokens


def test_model_json_sidecar_sets_the_normalization(tmp_path, kenlm_models: dict[str, str]) -> None:
    from udfs.perplexity import model_normalization

    assert model_normalization(kenlm_models["en"]) == Normalization()
    model = tmp_path / "m.binary"
    model.write_bytes(b"")
    (tmp_path / "m.json").write_text(json.dumps({"normalization": {"digits_to_zero": False}}))
    assert model_normalization(str(model)) == Normalization(digits_to_zero=False)


# -- the stage ---------------------------------------------------------------------------------------------------
def stage_frame(spark):
    rows = [(f"en-clean-{i}", text, "en", None) for i, text in enumerate(CLEAN["en"][:12])]
    rows += [(f"en-spam-{i}", text, "en", None) for i, text in enumerate(SPAM["en"])]
    rows += [(f"zh-clean-{i}", text, "zh", None) for i, text in enumerate(CLEAN["zh"][:6])]
    rows += [(f"zh-spam-{i}", text, "zh", None) for i, text in enumerate(SPAM["zh"])]
    rows += [("fr-0", "Bonjour tout le monde, voici un texte.", "fr", None)]
    rows += [("dead-0", SPAM["en"][0], "en", "gopher_quality:word_count")]
    frame = spark.createDataFrame(rows, "id string, text string, lang string, reason string")
    return frame.withColumn("stage", F.when(F.col("reason").isNotNull(), F.lit("quality")))


def run_stage(frame, perplexity: PerplexityConfig):
    from jobs.stages import model_quality

    conf = SimpleNamespace(perplexity=perplexity, quality_classifier=QualityClassifierConfig())
    context = SimpleNamespace(conf=conf)
    return {row["id"]: row for row in model_quality.apply(frame, context).collect()}


def test_stage_with_fixed_cutoffs_and_max(spark, kenlm_models: dict[str, str]) -> None:
    conf = PerplexityConfig(
        enabled=True, models=kenlm_models, cutoffs={"en": (150.0, 1000.0), "zh": (100.0, 1000.0)},
        max_perplexity={"en": 5000.0}, keep_buckets=("head", "middle"), paragraph_perplexities=True,
    )
    rows = run_stage(stage_frame(spark), conf)
    assert len(rows["en-spam-1"]["paragraph_perplexities"]) == 3 and rows["fr-0"]["paragraph_perplexities"] is None
    assert rows["en-spam-0"]["reason"] == "perplexity:max"  # 8343 > 5000
    assert rows["en-spam-1"]["reason"] == "perplexity:bucket_tail"  # 2937: tail, under the max
    assert rows["zh-spam-0"]["reason"] == rows["zh-spam-1"]["reason"] == "perplexity:bucket_tail"
    for doc_id, row in rows.items():
        if "clean" in doc_id:
            assert row["reason"] is None and row["stage"] is None
            expected = "head" if row["perplexity"] < (150.0 if doc_id.startswith("en") else 100.0) else "middle"
            assert row["perplexity_bucket"] == expected
    assert {rows[k]["perplexity_bucket"] for k in rows if "clean" in k} == {"head", "middle"}
    assert rows["fr-0"]["perplexity"] is None and rows["fr-0"]["perplexity_bucket"] is None
    assert rows["fr-0"]["reason"] is None
    dead = rows["dead-0"]
    assert (dead["reason"], dead["stage"], dead["perplexity"]) == ("gopher_quality:word_count", "quality", None)


def test_stage_cutoffs_from_the_data(spark, kenlm_models: dict[str, str]) -> None:
    conf = PerplexityConfig(enabled=True, models=kenlm_models, keep_buckets=("head", "middle"),
                            min_documents_for_cutoffs=10)
    rows = run_stage(stage_frame(spark), conf)
    en = sorted((r["perplexity"], r["perplexity_bucket"]) for k, r in rows.items() if k.startswith("en-"))
    en = [b for p, b in en if p is not None]
    # 14 live English docs, CCNet's 30/60 percentiles: percentile_approx gives the smallest value with at least 30 %
    # (60 %) of the values at or below it — the 5th (9th) lowest — and a document at a cut-off goes one bucket up.
    assert en == ["head"] * 4 + ["middle"] * 4 + ["tail"] * 6
    assert rows["en-spam-0"]["reason"] == rows["en-spam-1"]["reason"] == "perplexity:bucket_tail"
    # 8 live Chinese documents < min_documents_for_cutoffs: scored, but no bucket and no drop.
    zh = [rows[k] for k in rows if k.startswith("zh-")]
    assert len(zh) == 8 and all(r["perplexity"] > 0 and r["perplexity_bucket"] is None and r["reason"] is None
                                for r in zh)


def test_stage_off_is_the_identity(spark) -> None:
    from jobs.stages import model_quality

    frame = stage_frame(spark)
    context = SimpleNamespace(conf=SimpleNamespace(perplexity=PerplexityConfig(),
                                                   quality_classifier=QualityClassifierConfig()))
    assert model_quality.apply(frame, context) is frame


def test_missing_model_fails_on_the_driver_naming_the_key(spark) -> None:
    conf = PerplexityConfig(enabled=True, models={"en": "/nonexistent/en.binary"})
    with pytest.raises(ConfigError, match=r"perplexity\.models\.en"):
        run_stage(stage_frame(spark), conf)


# -- the training job --------------------------------------------------------------------------------------------
def test_train_kenlm_job_from_parquet_column(spark, tmp_path, kenlm_bin: str) -> None:
    from jobs.train_kenlm import TrainKenLMJob

    train, _ = reference_lines(EN_REFERENCE)
    docs = ["\n".join(train[i : i + 5]) for i in range(0, len(train), 5)]  # documents of five paragraphs
    spark.createDataFrame([(d, "en") for d in docs] + [("其他语言的文本", "zh")], "body string, lang string") \
        .write.parquet(str(tmp_path / "ref"))
    job = TrainKenLMJob()
    args, conf = job.load([
        "--input", str(tmp_path / "ref"), "--input-format", "parquet", "--column", "body", "--lang", "en",
        "--output", str(tmp_path / "model" / "en"), "--order", "3", "--memory", "100M", "--kenlm-bin", kenlm_bin,
    ])
    assert job.run_job(spark, args, conf) == 0
    settings = json.loads((tmp_path / "model" / "en.json").read_text())
    assert settings["lines"] == len(train) and settings["normalization"] == Normalization().as_dict()
    model = load_kenlm(str(tmp_path / "model" / "en.binary"))
    assert model.order == 3
    clean = max(document_perplexity(model, text) for text in CLEAN["en"])
    assert min(document_perplexity(model, text) for text in SPAM["en"]) > clean


def test_train_kenlm_rejects_missing_input(tmp_path) -> None:
    from jobs.train_kenlm import TrainKenLMJob
    from udfs.errors import InputError

    with pytest.raises(InputError, match="not found"):
        TrainKenLMJob().load(["--input", str(tmp_path / "nope.txt"), "--output", str(tmp_path / "m")])
