"""Credentials planted in every place a user can put one never appear in anything a run writes or prints
(issue 11): the conf file, ``--set`` (dotted Spark keys included), the environment, the AWS and Google credential
files, user:password in an input URL (used for HTTP basic authentication) and in other URLs of the conf — through a
successful read, a failed one (its error message names the URL) and bad settings refused before Spark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, WET_FIXTURES
from tests.http_server import FaultyHttpServer

pytestmark = pytest.mark.spark

MARK = "Planted"  # every planted secret contains it; nothing else in a run does
SECRETS = {
    "env_secret": "PlantedEnvSecretKey0001",
    "env_token": "PlantedEnvSessionToken0002",
    "aws_file": "PlantedAwsFileSecret0003",
    "gcp_key_line": "PlantedGcpPrivateKeyLine0004xxxxxxxx",
    "conf_access": "PlantedConfAccessKey0005",
    "conf_azure": "PlantedAzureAccountKey0006",
    "endpoint_pw": "PlantedEndpointPassword0007",
    "set_quoted": "PlantedSetSessionToken0008",
    "set_plain": "PlantedSetSecretKey0009",
    "url_pw": "PlantedUrlPassword0010",
    "base_pw": "PlantedManifestBasePw0011",
}


def environment(tmp_path: Path) -> dict[str, str]:
    credentials = tmp_path / "aws_credentials"
    credentials.write_text(f"[default]\naws_access_key_id = AKIAEXAMPLE\n"
                           f"aws_secret_access_key = {SECRETS['aws_file']}\n")
    key_file = tmp_path / "gcp.json"
    key_file.write_text(json.dumps({"type": "service_account", "private_key_id": "k1",
                                    "private_key": f"-----BEGIN PRIVATE KEY-----\n{SECRETS['gcp_key_line']}\n"
                                                   "-----END PRIVATE KEY-----\n"}))  # fmt: skip
    return {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "AWS_SECRET_ACCESS_KEY": SECRETS["env_secret"],
        "AWS_SESSION_TOKEN": SECRETS["env_token"],
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
    }


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "jobs.pipeline", *argv], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip


def test_no_planted_secret_is_written_or_printed(tmp_path: Path) -> None:
    conf = tmp_path / "conf.yaml"
    conf.write_text(
        f"extends: {REPO_ROOT / 'conf' / 'local.yaml'}\n"
        "spark:\n  conf:\n"
        f"    spark.hadoop.fs.s3a.access.key: {SECRETS['conf_access']}\n"
        f"    spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net: {SECRETS['conf_azure']}\n"
        f"s3:\n  endpoint_url: http://minio:{SECRETS['endpoint_pw']}@127.0.0.1:9/\n"
    )
    env = environment(tmp_path)
    server = FaultyHttpServer(WET_FIXTURES, basic_auth=("reader", SECRETS["url_pw"]))
    try:
        authed = server.base_url.replace("://", f"://reader:{SECRETS['url_pw']}@")
        output = tmp_path / "out"
        result = run([
            "--conf", str(conf), "--output", str(output),
            "--input", f"{authed}harwell_fragment3.wet.gz", str(WET_FIXTURES / "whirlwind.warc.wet.gz"),
            "--set", f'spark.conf."spark.hadoop.fs.s3a.session.token"={SECRETS["set_quoted"]}',
            "--set", f"spark.conf.spark.hadoop.fs.s3a.secret.key={SECRETS['set_plain']}",
            "--set", f"input.manifest_base=https://u:{SECRETS['base_pw']}@data.example.org/",
            "--set", "output.compression=none",  # Parquet pages stored plain, so the byte search below sees them
            "--set", "output.mode=overwrite",
        ], env)  # fmt: skip
        # A missing file is found before Spark starts; the message names its URL without the password.
        missing = run(["--conf", str(conf), "--output", str(tmp_path / "never"),
                       "--input", f"{authed}missing.wet.gz"], env)  # fmt: skip
    finally:
        server.stop()
    assert missing.returncode == 2 and "http://***@127.0.0.1" in missing.stderr, missing.stderr[-2000:]
    assert MARK not in missing.stdout + missing.stderr
    # The authenticated file was read (basic auth from the URL's user:password).
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((output / "_manifest.json").read_text())
    statuses = {Path(entry["path"]).name: entry["status"] for entry in manifest["inputs"]}
    assert statuses == {"harwell_fragment3.wet.gz": "ok", "whirlwind.warc.wet.gz": "ok"}
    assert all("***@" in entry["path"] for entry in manifest["inputs"] if entry["path"].startswith("http"))
    assert manifest["totals"]["records_read"] == 6

    leaks = [f"{path}" for path in sorted(output.rglob("*")) if path.is_file() and MARK.encode() in path.read_bytes()]
    assert leaks == []
    assert MARK not in result.stdout and MARK not in result.stderr

    # Bad settings refused before Spark: the error names the key, never the value.
    for setting in (f'spark.conf."fs.s3a.secret.key"=[{SECRETS["set_plain"]}',
                    f"spark.conf.fs.s3a.access.key={{nested: {SECRETS['set_plain']}}}"):  # fmt: skip
        refused = run(["--conf", str(conf), "--output", str(tmp_path / "never"), "--set", setting,
                       "--input", str(WET_FIXTURES / "whirlwind.warc.wet.gz")], env)  # fmt: skip
        assert refused.returncode == 2, refused.stderr[-2000:]
        assert "config error" in refused.stderr and "fs.s3a." in refused.stderr
        assert MARK not in refused.stdout + refused.stderr
