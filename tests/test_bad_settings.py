"""Bad settings and inputs found by an adversarial review (issue 11), each answered before Spark starts."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from jobs.pipeline import parse_stages
from tests.conftest import SAMPLE_WET_FILES
from udfs.config import build_config, is_secret_key, load_config, load_yaml_layers, redact_text
from udfs.errors import ConfigError
from udfs.sources import S3Settings, resolve_inputs

CONF = str(Path(__file__).resolve().parents[1] / "conf" / "local.yaml")


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("s3.backoff_base_seconds=-1", "s3.backoff_base_seconds"),  # made every file fail after one attempt
        ("http.backoff_base_seconds=-0.5", "http.backoff_base_seconds"),
        ("quality.gopher_quality.min_words=-5", "quality.gopher_quality.min_words"),
        ("dedup.near.threshold=-0.2", "dedup.near.threshold"),
        ("ingest.max_invalid_utf8_ratio=.nan", "ingest.max_invalid_utf8_ratio"),
    ],
)
def test_negative_or_nan_numbers_are_refused_naming_the_key(override: str, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{key}: must be a number >= 0"):
        load_config(CONF, [override])


@pytest.mark.parametrize("key", ["s3.connect_timeout_seconds", "s3.read_timeout_seconds"])
def test_zero_timeouts_are_refused(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"^{key}: must be > 0"):
        load_config(CONF, [f"{key}=0"])


@pytest.mark.parametrize("text", [",", "", " , "])
def test_stages_naming_nothing_is_an_error_not_all_stages(text: str) -> None:
    with pytest.raises(ConfigError, match="--stages: no stage named"):
        parse_stages(text, load_config(CONF))


def test_stages_default_to_the_conf_when_not_given() -> None:
    assert parse_stages(None, load_config(CONF))[0] == "ingest"


@pytest.mark.parametrize(
    "key",
    [
        "fs.s3a.session.token",
        "fs.s3a.access.key",
        "fs.s3a.secret.key",
        "fs.azure.account.key.store.blob.core.windows.net",
        "google.cloud.auth.service.account.json.keyfile.contents",
        "aws_secret_access_key",
        "awsSessionToken",
        "db_password",
    ],
)
def test_credential_settings_are_recognised(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["tokens", "tokenizer", "max_tokens", "keep", "monkey", "key_by"])
def test_ordinary_settings_are_not_taken_for_credentials(key: str) -> None:
    assert not is_secret_key(key)


def test_manifest_conf_hides_every_planted_secret() -> None:
    planted = {
        "spark": {"conf": {
            "spark.hadoop.fs.s3a.session.token": "PLANTED-TOKEN-1",
            "spark.hadoop.fs.s3a.access.key": "PLANTED-AKIA-2",
            "spark.hadoop.fs.azure.account.key.store.blob.core.windows.net": "PLANTED-AZURE-3",
            "spark.hadoop.google.cloud.auth.service.account.json.keyfile.contents": "PLANTED-GCP-4",
        }},
        "s3": {"endpoint_url": "https://PLANTED-USER-5:PLANTED-PASS-6@s3.example.org"},
        "input": {"paths": ["s3://PLANTED-USER-7:PLANTED-PASS-8@bucket/crawl/"]},
    }  # fmt: skip
    raw = load_yaml_layers(CONF)
    for section, values in planted.items():
        raw[section] = {**raw.get(section, {}), **values}
    written = json.dumps(build_config(raw).redacted())
    assert "PLANTED" not in written
    assert "s3.example.org" in written and "bucket/crawl/" in written  # the rest of each URL stays readable


def test_url_userinfo_is_redacted_in_free_text() -> None:
    assert redact_text("cannot read s3://AKIA:abc@host/key (https://u:p@h/x)") == (
        "cannot read s3://***@host/key (https://***@h/x)"
    )


def test_a_symlink_loop_lists_each_file_once(tmp_path: Path) -> None:
    crawl = tmp_path / "crawl"
    (crawl / "a").mkdir(parents=True)
    shutil.copy(SAMPLE_WET_FILES[0], crawl / "a" / "one.warc.wet.gz")
    os.symlink(crawl, crawl / "a" / "loop")  # crawl/a/loop/a/loop/... back to itself
    os.symlink(crawl / "a" / "one.warc.wet.gz", crawl / "same.warc.wet.gz")  # a second name for the same file
    found = resolve_inputs([f"{crawl}/**/*.wet.gz", str(crawl)], S3Settings(), "s3://commoncrawl/")
    assert found == [str(crawl / "a" / "one.warc.wet.gz")]


def load_pipeline(argv: list[str]) -> None:
    from jobs.pipeline import PipelineJob

    PipelineJob().load(["--conf", CONF, *argv])


def test_an_output_that_is_a_file_is_refused_before_any_work(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a folder")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        load_pipeline(["--input", str(SAMPLE_WET_FILES[0]), "--output", str(taken)])
    with pytest.raises(ConfigError, match="is a file, so the folder cannot be created"):
        load_pipeline(["--input", str(SAMPLE_WET_FILES[0]), "--output", str(taken / "run")])
    assert taken.read_text() == "not a folder"


def test_wet_input_without_ingest_is_refused_and_the_old_output_kept(tmp_path: Path) -> None:
    # `--stages dedup` reads Parquet documents; on WET it used to clear the output, then fail in Spark's reader.
    output = tmp_path / "out"
    output.mkdir()
    (output / "earlier.txt").write_text("an earlier run's file")
    wet_folder = Path(SAMPLE_WET_FILES[0]).parent
    with pytest.raises(ConfigError, match="WET files, but the stages dedup start from the Parquet documents"):
        load_pipeline(["--stages", "dedup", "--input", str(wet_folder), "--output", str(output),
                       "--set", "output.mode=overwrite"])
    assert (output / "earlier.txt").read_text() == "an earlier run's file"


def test_a_manifest_of_s3_files_behind_an_unreachable_endpoint_fails_before_spark(tmp_path: Path) -> None:
    # Manifest lines are never listed, so nothing used to check the endpoint: Spark started and every file was
    # retried to failure. Port 9 of 127.0.0.1 has nothing listening.
    from udfs.errors import InputError

    manifest = tmp_path / "wet.paths.gz"
    manifest.write_bytes(gzip.compress(b"crawl/a.warc.wet.gz\ncrawl/b.warc.wet.gz\n"))
    started = time.monotonic()
    with pytest.raises(InputError, match=r"S3 endpoint http://127.0.0.1:9 is unreachable while listing bucket cc"):
        load_pipeline(["--input", str(manifest), "--output", str(tmp_path / "out"),
                       "--set", "input.manifest_base=s3://cc/", "--set", "s3.endpoint_url=http://127.0.0.1:9"])
    assert time.monotonic() - started < 30
    assert not (tmp_path / "out").exists()  # checked before the output is touched
