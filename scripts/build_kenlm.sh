#!/usr/bin/env bash
# Build KenLM's training tools (lmplz, build_binary) from the kenlm source distribution on the package index.
#
#   scripts/build_kenlm.sh            → .cache/kenlm/bin/{lmplz,build_binary}   (prints the bin directory)
#
# Idempotent and cached: when both binaries exist and run, nothing is done (~0.1 s). A first build takes ~70 s
# on 2 cores. Querying a model needs no build: the `kenlm` Python module comes from the ufal-kenlm wheel.
#
# Needs a C++ compiler, cmake, make and the Boost (program_options, system, thread and unit_test_framework, which
# kenlm's CMakeLists requires even without tests), zlib, bzip2 and xz headers;
# Eigen is optional (only for KenLM's interpolation tools). Missing Debian/Ubuntu packages are installed with
# apt-get when running as root (CI containers); otherwise the script names them and stops.
#
# Environment: KENLM_VERSION (0.3.0), KENLM_CACHE (<repo>/.cache/kenlm), KENLM_MAX_ORDER (6), PYTHON (python3).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${KENLM_VERSION:-0.3.0}"
CACHE="${KENLM_CACHE:-$REPO_ROOT/.cache/kenlm}"
MAX_ORDER="${KENLM_MAX_ORDER:-6}"
BIN="$CACHE/bin"
PY="${PYTHON:-python3}"

# `lmplz --help` exits 1 by design; that it prints its options shows the binary and its libraries load.
built() { [[ -x "$BIN/lmplz" && -x "$BIN/build_binary" && "$("$BIN/lmplz" --help 2>&1)" == *--order* ]]; }

if built; then
    echo "$BIN"
    exit 0
fi

# --- build dependencies -------------------------------------------------------------------------------------
APT_PACKAGES=(g++ make cmake libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev
              zlib1g-dev libbz2-dev liblzma-dev)
missing=()
if command -v dpkg >/dev/null; then
    for package in "${APT_PACKAGES[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
fi
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "build_kenlm: installing ${missing[*]}" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    else
        echo "build_kenlm: missing build dependencies: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
        exit 1
    fi
fi
for tool in cmake make c++; do
    command -v "$tool" >/dev/null || { echo "build_kenlm: $tool not found" >&2; exit 1; }
done

# --- source -------------------------------------------------------------------------------------------------
mkdir -p "$CACHE"
SDIST="$CACHE/kenlm-$VERSION.tar.gz"
if [[ ! -s "$SDIST" ]]; then
    # pip prepares metadata even for `pip download`; without build isolation (which would compile cmake from
    # source under --no-binary) that needs setuptools + wheel, so use a throw-away venv that has them.
    DL_ENV="$CACHE/download-env"
    [[ -x "$DL_ENV/bin/pip" ]] || "$PY" -m venv "$DL_ENV"
    "$DL_ENV/bin/pip" install -q setuptools wheel >&2
    "$DL_ENV/bin/pip" download -q --no-deps --no-binary kenlm --no-build-isolation "kenlm==$VERSION" -d "$CACHE" >&2
    rm -rf "$DL_ENV"
fi

# --- build --------------------------------------------------------------------------------------------------
WORK="$(mktemp -d "$CACHE/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
tar xzf "$SDIST" -C "$WORK"
mkdir -p "$WORK/kenlm-$VERSION/build"
(
    cd "$WORK/kenlm-$VERSION/build"
    cmake .. -DCMAKE_BUILD_TYPE=Release -DKENLM_MAX_ORDER="$MAX_ORDER" -DCOMPILE_TESTS=OFF >&2
    make -j"$(nproc 2>/dev/null || echo 2)" lmplz build_binary >&2
)
mkdir -p "$BIN"
cp "$WORK/kenlm-$VERSION/build/bin/lmplz" "$WORK/kenlm-$VERSION/build/bin/build_binary" "$BIN/"
built || { echo "build_kenlm: built binaries do not run" >&2; exit 1; }
echo "$BIN"
