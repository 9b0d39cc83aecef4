# cc-refinery developer commands. The two that matter:
#   make sample   create the environment if needed, run the whole pipeline on the bundled WET samples (local mode)
#   make test     create the environment if needed, run the test suite (starts SeaweedFS and a Spark cluster itself)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The Spark 3.5 line (EMR 7, Dataproc 2.2/2.3): pyspark 3.5.x with numpy<2, in a venv of its own.
VENV35 := .venv-spark35
PY35 := $(VENV35)/bin/python
STAMP35 := $(VENV35)/.installed
export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))
export SPARK_LOCAL_IP := 127.0.0.1
SAMPLE_OUT ?= output/sample
PYTEST_ARGS ?=

.PHONY: env env-spark35 sample test test-spark35 test-docker-install test-all lint bench dist clean kenlm

env: $(STAMP)

# $(call make-venv,FOLDER,EXTRAS): a venv in FOLDER with the project installed editable with EXTRAS, then its stamp.
define make-venv
	@command -v java >/dev/null || { echo "Java 17 is required (Debian/Ubuntu: apt-get install -y openjdk-17-jre-headless)"; exit 1; }
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install -q --upgrade pip
	$(1)/bin/python -m pip install -q -e '.[$(2)]'
	touch $(1)/.installed
endef
comma := ,

$(STAMP): pyproject.toml
	$(call make-venv,$(VENV),dev$(comma)dist)

env-spark35: $(STAMP35)

$(STAMP35): pyproject.toml scripts/numpy1-no-deps.txt
	$(call make-venv,$(VENV35),dev$(comma)dist$(comma)spark35)
	$(VENV35)/bin/python -m pip install -q --no-deps -r scripts/numpy1-no-deps.txt

sample: $(STAMP)
	$(PY) -m jobs.pipeline --conf conf/local.yaml --input tests/fixtures/wet tests/fixtures/wet_zh --output $(SAMPLE_OUT) --set output.mode=overwrite

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The Spark 3.5 line in CI: the end-to-end tests (local pipeline, S3, standalone cluster, packaged environment) in
# .venv-spark35; the unit tests run once, on the 4.x line (make test). `-m "not slow or cluster"` adds the packaged
# environment's cluster submission, which is kept out of the default suite.
E2E_TESTS ?= tests/test_pipeline_e2e.py tests/test_sources.py tests/test_packaging.py tests/test_http_inputs.py \
	tests/test_hadoop_inputs.py
test-spark35: $(STAMP35)
	PYSPARK_PYTHON=$(abspath $(PY35)) PYSPARK_DRIVER_PYTHON=$(abspath $(PY35)) \
		$(PY35) -m pytest -q -m "not slow or cluster" $(E2E_TESTS) $(PYTEST_ARGS)

# The image's install steps (docker/install.sh), run outside Docker into a temp folder so they stay true: Docker does
# not run on the CI machines. Slow (~1-2 min: a fresh environment), so CI runs it here rather than in `make test`.
test-docker-install: $(STAMP)
	$(PY) -m pytest -q -m slow tests/test_docker.py $(PYTEST_ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -q -m "slow or not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) bench/ingest_throughput.py --spark

# KenLM training tools (lmplz, build_binary) built from the kenlm sdist into .cache/kenlm/bin (cached; ~70 s once).
# Only jobs/train_kenlm.py needs them; the tests that train a model call the same script.
kenlm:
	PYTHON=$(PYTHON) bash scripts/build_kenlm.sh

# What a cluster needs (README "What make dist builds"): the wheel, dist/cc_refinery.zip (--py-files),
# dist/env.tar.gz (--archives …#environment; a venv of DIST_PYTHON, which must exist at the same path on the nodes)
# and dist/models.tar.gz (--archives …#models: lid.176 plus the KenLM/classifier models DIST_CONF names).
DIST_PYTHON ?= $(firstword $(wildcard /usr/bin/python3.11) python3.11)
DIST_EXTRA ?= spark35
DIST_CONF ?= conf/defaults.yaml
dist: $(STAMP)
	$(PY) scripts/dist.py --out dist --python $(DIST_PYTHON) --extra '$(DIST_EXTRA)' --conf $(DIST_CONF)

clean:
	rm -rf output dist .pytest_cache
