"""Bad settings and inputs found by an adversarial review (issue 11), each answered before Spark starts."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from jobs.pipeline import parse_stages
from tests.conftest import SAMPLE_WET_FILES
from udfs.config import (
    build_config,
    is_secret_key,
    load_config,
    load_yaml_layers,
    redact_text,
    split_override_key,
)
from udfs.errors import ConfigError
from udfs.secrets import RedactingStream, Redactor, conf_secrets, environment_secrets
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


@pytest.mark.parametrize(
    ("key", "parts"),
    [
        ('spark.conf."fs.s3a.endpoint"', ["spark", "conf", "fs.s3a.endpoint"]),
        ("spark.conf.spark.hadoop.fs.s3a.endpoint", ["spark", "conf", "spark.hadoop.fs.s3a.endpoint"]),
        ('spark.conf."spark.sql.shuffle.partitions"', ["spark", "conf", "spark.sql.shuffle.partitions"]),
        ("dedup.near.threshold", ["dedup", "near", "threshold"]),
    ],
)
def test_set_accepts_dotted_spark_keys(key: str, parts: list[str]) -> None:
    assert split_override_key(key) == parts


def test_a_dotted_spark_key_set_on_the_command_line_reaches_spark_settings() -> None:
    conf = load_config(CONF, ['spark.conf."spark.hadoop.fs.s3a.endpoint"=http://127.0.0.1:8333',
                              "spark.conf.spark.sql.shuffle.partitions=7"])  # fmt: skip
    settings = conf.spark.settings()
    assert settings["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:8333"
    assert settings["spark.sql.shuffle.partitions"] == "7"


@pytest.mark.parametrize(
    "assignment",
    ['spark.conf."fs.s3a.secret.key"=[PLANTED-1', "spark.conf.fs.s3a.access.key={a: PLANTED-2}",
     "s3.secret_key=PLANTED-3", "fs.s3a.secret.key PLANTED-4", "a..b.token=PLANTED-5"],
)
def test_set_errors_name_the_key_never_a_credential_value(assignment: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(CONF, [assignment])
    assert "PLANTED" not in str(error.value)


def test_a_credential_value_is_masked_wherever_it_was_copied() -> None:
    raw = load_yaml_layers(CONF)
    raw["spark"] = {"conf": {"spark.hadoop.fs.s3a.secret.key": "PLANTED-SECRET-9",
                             "spark.app.name": "run-PLANTED-SECRET-9"}}  # fmt: skip
    written = json.dumps(build_config(raw).redacted())
    assert "PLANTED" not in written and "run-***" in written
    redactor = Redactor(conf_secrets(raw))
    assert redactor.text("403 for key PLANTED-SECRET-9 at https://u:pw@h/x") == "403 for key *** at https://***@h/x"


def test_credentials_of_the_environment_and_the_sdk_files_are_known(tmp_path: Path) -> None:
    aws = tmp_path / "credentials"
    aws.write_text("[default]\naws_access_key_id = AKIA-PLANTED-1\naws_secret_access_key = PLANTED-2\n")
    gcp = tmp_path / "key.json"
    gcp.write_text(json.dumps({"private_key": "-----BEGIN PRIVATE KEY-----\nPLANTED-3-LONG-LINE-OF-KEY\n-----END"}))
    found = environment_secrets({"AWS_SHARED_CREDENTIALS_FILE": str(aws), "GOOGLE_APPLICATION_CREDENTIALS": str(gcp),
                                 "AZURE_STORAGE_KEY": "PLANTED-4", "PWD": "/work", "HOME": "/root"})  # fmt: skip
    assert {"AKIA-PLANTED-1", "PLANTED-2", "PLANTED-3-LONG-LINE-OF-KEY", "PLANTED-4"} <= found
    assert "/work" not in found and "/root" not in found


def test_the_driver_streams_pass_through_the_redactor() -> None:
    target = io.StringIO()
    stream = RedactingStream(target, Redactor(["PLANTED-TOKEN-1"]))
    print("token=PLANTED-TOKEN-1 url=https://a:b@h/", file=stream)
    assert target.getvalue() == "token=*** url=https://***@h/\n"


@pytest.mark.spark
def test_a_remote_output_that_cannot_be_written_fails_before_any_input_is_read(tmp_path: Path) -> None:
    """The lock is the first write to an output; for a remote one it happens before any input is read, and a
    failure is one line naming the output (here the scheme has no filesystem: no hadoop-aws jar on this machine)."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    result = subprocess.run(
        [sys.executable, "-m", "jobs.pipeline", "--conf", CONF, "--input", SAMPLE_WET_FILES[0],
         "--output", "s3a://no-such-bucket/out"],
        cwd=REPO_ROOT, env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert "config error: --output s3a://no-such-bucket/out: cannot write there (" in result.stderr
    assert "Traceback" not in result.stderr and "phase shards" not in result.stderr
