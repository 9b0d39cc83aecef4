#!/usr/bin/env bash
# Install cc-refinery's runtime into PREFIX: the one set of steps the image runs (docker/Dockerfile) and the tests
# run outside Docker (tests/test_docker.py), so the image's install cannot drift from what is tested.
#
#   docker/install.sh [--system] PREFIX SOURCE
#
#   PREFIX/env   a virtual environment with the project and its dependencies (fastText, KenLM, OpenCC,
#                tokenizers, pyarrow; the lid.176 language-ID model ships inside the package)
#   PREFIX/app   jobs/, udfs/ and conf/: the entry point (app/jobs/pipeline.py) and the conf files it finds
#
# --system   also install the native packages with apt-get (root, Debian/Ubuntu: the image build): the venv module
#            of the distribution's Python and libgomp (OpenMP runtime of native wheels).
# SOURCE     a checkout of this repository (pyproject.toml, udfs/, jobs/, conf/).
# Environment: PYTHON (python3) the interpreter the environment is made from — Python 3.10 to 3.12;
#              EXTRAS (spark35) the pyproject extra naming the Spark line of the image's Spark.
set -euo pipefail

system=0
if [[ "${1:-}" == "--system" ]]; then
    system=1
    shift
fi
if [[ $# -ne 2 ]]; then
    echo "usage: $0 [--system] PREFIX SOURCE" >&2
    exit 2
fi
PREFIX="$1"
SOURCE="$(cd "$2" && pwd)"
PY="${PYTHON:-python3}"
EXTRAS="${EXTRAS:-spark35}"

if [[ $system -eq 1 ]]; then
    apt-get update
    apt-get install -y --no-install-recommends python3-venv libgomp1
    rm -rf /var/lib/apt/lists/*
fi

"$PY" -c 'import sys; assert (3, 10) <= sys.version_info[:2] <= (3, 12), sys.version' || {
    echo "install.sh: $PY is not Python 3.10-3.12" >&2
    exit 1
}

# Build from a copy holding only what the package needs: an in-tree build would leave build/ and *.egg-info in SOURCE.
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$SOURCE/pyproject.toml" "$SOURCE/README.md" "$stage/"
cp -r "$SOURCE/udfs" "$SOURCE/jobs" "$SOURCE/conf" "$stage/"
find "$stage" -name '__pycache__' -prune -exec rm -rf {} +

"$PY" -m venv "$PREFIX/env"
"$PREFIX/env/bin/python" -m pip install -q --upgrade pip
"$PREFIX/env/bin/python" -m pip install -q "${stage}[${EXTRAS}]"
if [[ ",${EXTRAS}," == *",spark35,"* ]]; then  # numpy < 2: wheels whose numpy >= 2 pin is metadata only
    "$PREFIX/env/bin/python" -m pip install -q --no-deps -r "$SOURCE/scripts/numpy1-no-deps.txt"
fi

mkdir -p "$PREFIX/app"
rm -rf "$PREFIX/app/jobs" "$PREFIX/app/udfs" "$PREFIX/app/conf"
cp -r "$stage/jobs" "$stage/udfs" "$stage/conf" "$PREFIX/app/"

# The environment works on its own (-I: no user site, no PYTHONPATH, not the current folder): the native modules
# load and the bundled language-ID model answers.
"$PREFIX/env/bin/python" -I - <<'EOF'
import fasttext, gcld3, kenlm, opencc, py3langid, pyarrow, pyspark, tokenizers  # noqa: F401  native wheels load
from udfs.models import bundled_lid_model_path

labels, _ = fasttext.load_model(bundled_lid_model_path()).predict("The quick brown fox jumps over the lazy dog.")
assert labels[0] == "__label__en", labels
print(f"cc-refinery environment ready: pyspark {pyspark.__version__}, lid.176 says {labels[0]}")
EOF
