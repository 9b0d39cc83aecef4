"""Session fixtures for the KenLM tests: the lmplz build and tiny models on real text.

Import the ``*_fixture`` functions; tests request them as ``kenlm_bin`` / ``kenlm_models``.

``scripts/build_kenlm.sh`` runs once per session (cached in .cache/kenlm: ~0.1 s once built, ~70-200 s the first
time), so CI builds the training tools instead of skipping these tests.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO_ROOT

REFERENCE = FIXTURES / "reference"
EN_REFERENCE = REFERENCE / "en_python_docs.txt"
ZH_REFERENCE = FIXTURES / "dedup" / "zh_reviews.txt"  # shared with the dedup tests
HELD_OUT_LINES = 40
"""The last lines of each reference file are never trained on: tests score them as unseen clean text."""


def reference_lines(path: Path) -> tuple[list[str], list[str]]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return lines[:-HELD_OUT_LINES], lines[-HELD_OUT_LINES:]


@pytest.fixture(scope="session", name="kenlm_bin")
def kenlm_bin_fixture() -> str:
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "build_kenlm.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"scripts/build_kenlm.sh failed:\n{result.stderr[-3000:]}"
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session", name="kenlm_models")
def kenlm_models_fixture(kenlm_bin: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """en and zh 3-gram models trained (without Spark) on the training part of the reference files."""
    from jobs.train_kenlm import train_kenlm_binary
    from udfs.perplexity import normalize_for_lm

    folder = tmp_path_factory.mktemp("kenlm-models")
    models = {}
    for lang, path in (("en", EN_REFERENCE), ("zh", ZH_REFERENCE)):
        train, _ = reference_lines(path)
        corpus = folder / f"{lang}.txt"
        corpus.write_text("\n".join(line for text in train for line in normalize_for_lm(text)) + "\n", "utf-8")
        models[lang] = train_kenlm_binary(str(corpus), str(folder / lang), 3, "100M", kenlm_bin)
    return models
