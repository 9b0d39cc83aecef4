"""Build what a cluster needs (``make dist``): the wheel, the ``--py-files`` zip, the environment and models archives.

    python scripts/dist.py --out dist --python /usr/bin/python3.11 --extra spark35 --conf conf/defaults.yaml

writes ``dist/cc_refinery-<version>-py3-none-any.whl``, ``dist/cc_refinery.zip``, ``dist/env.tar.gz``,
``dist/models.tar.gz`` and ``dist/models.json`` (README, "What make dist builds", says how each is shipped).

The environment archive is the slow part (a fresh venv, pip install, venv-pack: a few minutes), so it is built once
per ``pyproject.toml`` × interpreter × extra and cached in ``.cache/dist/``. That is sound because it holds only
the dependencies: the project's own code is removed from it and travels as ``cc_refinery.zip``.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from jobs.base import code_archive  # noqa: E402
from udfs.config import load_config  # noqa: E402
from udfs.errors import ConfigError  # noqa: E402
from udfs.models import bundled_lid_model_path  # noqa: E402

# Left out of env.tar.gz: the cluster's Spark puts its own pyspark.zip and py4j on the workers' path (a second copy
# could only disagree with it), and the project's code ships as cc_refinery.zip so one archive serves many revisions.
LEFT_OUT_OF_ENV = ("pyspark", "py4j", "cc-refinery")
MODELS_ATTRIBUTION = REPO_ROOT / "udfs" / "resources" / "ATTRIBUTION.md"
NUMPY1_NO_DEPS = REPO_ROOT / "scripts" / "numpy1-no-deps.txt"
# Run by the fresh venv before packing: the wheel alone must give a working language ID (no Makefile extras).
ENV_SMOKE_TEST = """
import boto3, ftfy, gcld3, kenlm, opencc, py3langid, pycld2, regex, tokenizers, xxhash, yaml  # executors import these
import pandas as pd
import pyarrow as pa
assert pa.Table.from_pandas(pd.DataFrame({"n": [1, 2]})).num_rows == 2  # pyarrow 26 fails here on numpy 1.x
from udfs.langid import LangIdConfig, detect_languages
langs = detect_languages(pd.Series(["Le chat dort sur le canapé du salon.", "今天的天气非常好，我们去公园散步吧。"]),
                         LangIdConfig())["lang"].tolist()
assert langs == ["fr", "zh"], langs
"""


def build_wheel(out: Path) -> Path:
    """``pip wheel`` of the repository (no dependencies) into ``out``, replacing an older wheel of the project."""
    with tempfile.TemporaryDirectory(prefix="cc-refinery-wheel-") as build_dir:
        _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", build_dir, str(REPO_ROOT)])
        (built,) = Path(build_dir).glob("cc_refinery-*.whl")
        for old in out.glob("cc_refinery-*.whl"):
            old.unlink()
        return Path(shutil.move(str(built), out / built.name))


def build_code_zip(out: Path) -> Path:
    """The same zip jobs ship to executors with ``addPyFile`` (udfs/, jobs/, conf/), for ``--py-files``."""
    target = out / "cc_refinery.zip"
    shutil.copyfile(code_archive(), target)
    return target


def interpreter(python: str) -> tuple[str, str]:
    """(``sys.executable``, ``major.minor``) of ``python``, asked of the interpreter itself (pyenv shims resolve)."""
    probe = "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])"
    executable, version = _run([python, "-c", probe], capture=True).split()
    if tuple(int(part) for part in version.split(".")) < (3, 10):
        raise ConfigError(f"DIST_PYTHON: {executable} is Python {version}; cc-refinery needs 3.10 or newer")
    return executable, version


def env_cache_key(python_executable: str, python_version: str, extra: str) -> str:
    """What the dependency venv depends on: the declared dependencies (and the numpy-1 pins), the interpreter and
    the extra."""
    digest = hashlib.sha256((REPO_ROOT / "pyproject.toml").read_bytes() + NUMPY1_NO_DEPS.read_bytes())
    digest.update(f"\0{python_executable}\0{python_version}\0{extra}".encode())
    return digest.hexdigest()[:16]


_MANYLINUX_ALIASES = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def needed_glibc(site_packages: Path) -> tuple[int, int] | None:
    """The newest glibc that an installed wheel needs, from the platform tags in each ``*.dist-info/WHEEL`` (a wheel
    needs the oldest of its own tags; None when every wheel is pure Python). The nodes' glibc must be at least this.
    """
    newest = None
    for wheel_file in site_packages.glob("*.dist-info/WHEEL"):
        versions = []
        for line in wheel_file.read_text().splitlines():
            if not line.startswith("Tag:"):
                continue
            platform = line.rsplit("-", 1)[-1].strip()
            match = re.fullmatch(r"manylinux_(\d+)_(\d+)_\w+", platform)
            if match:
                versions.append((int(match[1]), int(match[2])))
            elif platform.split("_", 1)[0] in _MANYLINUX_ALIASES:
                versions.append(_MANYLINUX_ALIASES[platform.split("_", 1)[0]])
        if versions and (newest is None or min(versions) > newest):
            newest = min(versions)
    return newest


def build_env_archive(wheel: Path, python: str, extra: str, out: Path, cache_root: Path) -> tuple[Path, bool]:
    """``out/env.tar.gz`` and ``out/env.json`` (what the nodes need: interpreter path and version, glibc): a
    venv-pack archive of the wheel's dependencies; returns (path, taken from the cache)."""
    if importlib.util.find_spec("venv_pack") is None:
        raise ConfigError("venv-pack is not installed in this environment: pip install -e '.[dist]' (make env does)")
    executable, version = interpreter(python)
    key = env_cache_key(executable, version, extra)
    cached, cached_facts = cache_root / f"env-{key}.tar.gz", cache_root / f"env-{key}.json"
    target = out / "env.tar.gz"
    if cached.is_file() and cached_facts.is_file():
        shutil.copyfile(cached, target)
        shutil.copyfile(cached_facts, out / "env.json")
        return target, True
    cache_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="env-build-", dir=cache_root) as work:
        venv = Path(work) / "venv"
        _run([executable, "-m", "venv", str(venv)])
        venv_python = str(venv / "bin" / "python")
        _run([venv_python, "-m", "pip", "install", "-q", "--upgrade", "pip"])
        requirement = f"{wheel.resolve()}[{extra}]" if extra else str(wheel.resolve())
        _run([venv_python, "-m", "pip", "install", "-q", requirement])
        if "spark35" in extra.split(","):  # numpy < 2: wheels whose numpy >= 2 pin is metadata only
            _run([venv_python, "-m", "pip", "install", "-q", "--no-deps", "-r", str(NUMPY1_NO_DEPS)])
        _run([venv_python, "-c", ENV_SMOKE_TEST], cwd=work)  # cwd: import udfs from the venv, not the repo
        _run([venv_python, "-m", "pip", "uninstall", "-q", "-y", *LEFT_OUT_OF_ENV])
        (site_packages,) = venv.glob("lib/python*/site-packages")
        glibc = needed_glibc(site_packages)
        facts = {"python": executable, "python_version": version, "extra": extra, "left_out": list(LEFT_OUT_OF_ENV),
                 "glibc": None if glibc is None else f"{glibc[0]}.{glibc[1]}"}  # fmt: skip
        import venv_pack

        partial = Path(work) / "env.tar.gz"
        venv_pack.pack(prefix=str(venv), output=str(partial))
        os.replace(partial, cached)
        cached_facts.write_text(json.dumps(facts, indent=2) + "\n")
    shutil.copyfile(cached, target)
    shutil.copyfile(cached_facts, out / "env.json")
    return target, False


def model_entries(conf_path: str, overrides: list[str]) -> dict[str, Path]:
    """Conf key → model file to ship: the LID model, every configured KenLM and quality-classifier model and the
    category classifier."""
    conf = load_config(conf_path, overrides)
    entries: dict[str, Path] = {"langid.model_path": Path(conf.langid.model_path or bundled_lid_model_path())}
    for section in ("perplexity", "quality_classifier"):
        for lang, path in sorted(conf.section(section).models.items()):
            entries[f"{section}.models.{lang}"] = Path(path)
    if conf.categories.classifier_model:
        entries["categories.classifier_model"] = Path(conf.categories.classifier_model)
    for key, path in entries.items():
        if not path.is_file():
            raise ConfigError(f"{key}: model not found: {path}")
    return entries


def build_models_archive(conf_path: str, overrides: list[str], out: Path) -> tuple[Path, dict[str, str]]:
    """``out/models.tar.gz`` (files at its root: ``#models`` unpacks them to ``./models/``) and the conf overrides
    that point the job at them, also written to ``out/models.json``."""
    entries = model_entries(conf_path, overrides)
    members: dict[str, tuple[str, Path]] = {}  # name in the archive → (first conf key, file)
    for key, path in entries.items():
        files = [path]
        sidecar = path.with_suffix(".json")  # a KenLM model's normalization settings (udfs/perplexity.py)
        if key.startswith("perplexity.") and sidecar.is_file():
            files.append(sidecar)
        for file in files:
            seen = members.get(file.name)
            if seen is not None and seen[1].resolve() != file.resolve():
                raise ConfigError(
                    f"{key}: {file} has the same file name as {seen[1]} ({seen[0]}); models.tar.gz keeps one "
                    "folder, so rename one of them"
                )
            members.setdefault(file.name, (key, file))
    if MODELS_ATTRIBUTION.name in members:
        raise ConfigError(f"{members[MODELS_ATTRIBUTION.name][0]}: a model may not be named {MODELS_ATTRIBUTION.name}")
    target = out / "models.tar.gz"
    with tarfile.open(target, "w:gz") as archive:
        for name, (_, file) in sorted(members.items()):
            archive.add(file, arcname=name)
        archive.add(MODELS_ATTRIBUTION, arcname=MODELS_ATTRIBUTION.name)
    settings = {key: f"models/{path.name}" for key, path in entries.items()}
    (out / "models.json").write_text(json.dumps(settings, indent=2) + "\n")
    return target, settings


def _run(command: list[str], cwd: str | None = None, capture: bool = False) -> str:
    result = subprocess.run(command, cwd=cwd, text=True, capture_output=capture)
    if result.returncode != 0:
        detail = f"\n{result.stderr}" if capture else ""
        raise SystemExit(f"dist: command failed ({result.returncode}): {' '.join(command)}{detail}")
    return result.stdout if capture else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="dist", help="output folder")
    parser.add_argument("--python", default="python3.11", help="interpreter the environment is made from; its path "
                        "must exist on every node (environment/bin/python links to it)")  # fmt: skip
    parser.add_argument("--extra", default="spark35", help="extra of the wheel to install ('' for none)")
    parser.add_argument("--conf", default="defaults.yaml", help="conf naming the models to pack")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.SUB=VALUE")
    parser.add_argument("--cache", default=str(REPO_ROOT / ".cache" / "dist"), help="where env archives are kept")
    parser.add_argument("--only", choices=["code", "env", "models"], action="append",
                        help="build only these parts (repeatable); default: everything")  # fmt: skip
    args = parser.parse_args(argv)
    parts = set(args.only or ["code", "env", "models"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    try:
        wheel = None
        if parts & {"code", "env"}:
            wheel = build_wheel(out)
            print(f"dist: {wheel}")
        if "code" in parts:
            print(f"dist: {build_code_zip(out)}")
        if "models" in parts:
            from jobs.base import find_conf

            archive, settings = build_models_archive(find_conf(args.conf), args.overrides, out)
            flags = " ".join(f"--set {key}={value}" for key, value in settings.items())
            print(f"dist: {archive} (with --archives {archive}#models, run the job with: {flags})")
        if "env" in parts and wheel is not None:
            archive, cached = build_env_archive(wheel, args.python, args.extra, out, Path(args.cache))
            facts = json.loads((out / "env.json").read_text())
            print(f"dist: {archive} ({'from the cache' if cached else 'built'}; {archive.stat().st_size / 2**20:.0f} "
                  f"MiB); nodes need {facts['python']} (Python {facts['python_version']}) and glibc >= "
                  f"{facts['glibc']}: see {out / 'env.json'}")  # fmt: skip
    except ConfigError as exc:
        print(f"dist: config error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
