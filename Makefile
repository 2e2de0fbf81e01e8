# Two commands on a fresh clone: `make demo` runs the main job, `make test` runs the tests.
# Both create .venv at the repo root and install what they need (pip shows its progress).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EVENT ?= events/s3-put.json

.PHONY: demo invoke api test test-unit lint model model-build potato-model demo-model bench deploy-check runtime-test venvs clean

# The real potato model and its photos live beside the clone (../shared in CI), never in the repository.
SHARED ?= ../shared
POTATO := $(SHARED)/data/potato

# Every command here writes bytecode as modules are first imported, even where PYTHONDONTWRITEBYTECODE
# is set (as on these machines): otherwise each test worker and each subprocess a test starts compiles
# TensorFlow, moto and the rest again (collecting the tests: 27 s of CPU that way, 14 s from bytecode).
export PYTHONDONTWRITEBYTECODE :=

$(PY):
	$(PYTHON) -m venv $(VENV)

# Demo: the Lambda runtime set plus moto's server; no TensorFlow.
$(VENV)/.demo-deps: layer/requirements.txt requirements-local.txt | $(PY)
	$(PY) -m pip install --progress-bar on -r layer/requirements.txt -r requirements-local.txt
	touch $@

# Tests: everything, including TensorFlow for the Keras runtime and model building. No bytecode is
# compiled at install (pip's default compiles every file of every package, most never imported: 170 s of
# CPU for this install here, 93 s without); it is written as modules are imported (above).
NO_COMPILE := --no-compile
$(VENV)/.test-deps: requirements-dev.txt layer/requirements.txt requirements-local.txt | $(PY)
	$(PY) -m pip install --progress-bar on $(NO_COMPILE) -r requirements-dev.txt
	touch $@ $(VENV)/.demo-deps

demo: $(VENV)/.demo-deps
	$(PY) -m local.demo

invoke: $(VENV)/.demo-deps
	$(PY) -m local.invoke $(EVENT)

# The API on 127.0.0.1:3000 over the local S3/DynamoDB, the no-Docker `sam local start-api` (PORT=3001 for another port).
api: $(VENV)/.demo-deps
	$(PY) -m local.api $(if $(PORT),--port $(PORT))

# Every layer: unit, integration (tests/integration/, tests/reliability/) and e2e (tests/e2e/), in
# TEST_WORKERS processes (pytest-xdist; default 3 on this machine's 2 cores: many tests wait on moto, a
# long poll or a subprocess, and a third worker fills those waits; fresh-clone CI 11 m 29 s with two,
# 11 m 12 s with three). A test file stays on one worker, so its module fixtures (a model build, a local
# stack) run once; files go out in collection order (tests/conftest.py puts the slow ones first), not
# xdist's largest-file-first.
TEST_WORKERS ?= 3
test: $(VENV)/.test-deps
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The unit layer alone: no network (pytest-socket), no moto server, no TensorFlow. Pure CPU: one worker a core.
UNIT_WORKERS ?= 2
test-unit: $(VENV)/.test-deps
	$(PY) -m pytest -n $(UNIT_WORKERS) -m unit --disable-socket --allow-unix-socket

# ruff over the repository; mypy on the function and the model package ([tool.mypy] in pyproject.toml).
lint: $(VENV)/.test-deps
	$(PY) -m ruff check .
	$(PY) -m mypy handler model

# The bundled leaf model model/leaves: trained from scratch on ../shared's potato and leaves photos
# (model/train.py), chosen on their Test/ folders, built by model.build (int8 where it agrees).
model: $(VENV)/.test-deps
	$(PY) -m model.train --shared $(SHARED) --out model/leaves

# Rebuild model/leaves from its committed model.keras without retraining: conversion, parity and the
# "not recognised" gate calibrated on both Test/ sets (no-leaf class, `embedding` layer).
model-build: $(VENV)/.test-deps
	$(PY) -m model.train --shared $(SHARED) --out model/leaves --build-only

# The MIT potato model/potato: built from the shared Keras 2 .h5 with model.build, int8 if it
# agrees with Keras on the 300 Test/ photos; the MIT licence and the provenance go in beside it.
potato-model: $(VENV)/.test-deps
	rm -rf build/potato
	$(PY) -m model.build --h5 $(POTATO)/potato_pretrain_model.h5 --labels model/recipes/potato/labels.txt \
	  --preprocess raw --samples $(POTATO)/Test --name potato-plantvillage --out build/potato
	install -m 644 $(POTATO)/LICENSE-model build/potato/LICENSE
	install -m 644 model/recipes/potato/PROVENANCE.md build/potato/PROVENANCE.md
	rm -rf model/potato && mv build/potato model/potato

# The synthetic-leaf model the tests use as a fixture (model/demo), retrained from the generator.
demo-model: $(VENV)/.test-deps
	$(PY) -m model.train_demo

# The seed's way against this handler, as fresh processes (bench/results/; --quick runs in the tests),
# then the load test's throughput (the test asserts nothing lost or doubled, never a time), then
# upload -> stored result through presigned POST, S3 event and ?wait (bench/results/upload_latency.md).
bench: $(VENV)/.test-deps
	$(PY) -m bench.run --load
	$(PY) -m bench.upload_latency

# The SAM checks and the image's dependency set for both architectures, on Python 3.12 like Lambda.
DEPLOY_VENV := .venv-deploy
$(DEPLOY_VENV)/.deps: requirements-deploy.txt
	PYENV_VERSION=3.12.1 python3.12 -m venv $(DEPLOY_VENV) || $(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --progress-bar on $(NO_COMPILE) -r requirements-deploy.txt
	touch $@


# `sam validate --lint` is cfn-lint over the template (the docs' command; cfn-lint alone was a second run).
deploy-check: $(DEPLOY_VENV)/.deps
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(DEPLOY_VENV)/bin/sam validate
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(DEPLOY_VENV)/bin/sam validate --lint
	$(DEPLOY_VENV)/bin/python layer/resolve.py --arch x86_64 --python 3.12 --out build/layer-x86_64
	$(DEPLOY_VENV)/bin/python layer/resolve.py --arch aarch64 --python 3.12 --out build/layer-aarch64

# The end-to-end tests with only the image's runtime set importable (TensorFlow absent), on Python 3.12.
# `make test` runs every e2e test already; this run is about the image's package set, so it takes
# the files whose code paths run in the function: the set itself and awslambdaric's entry point, S3
# events through SQS, SQS batches, EventBridge and Batch Operations, every API route and error code,
# presigned uploads. Left to `make test`: the local and ops tools (not in the image), the browser
# tests, the IAM and fuzzing suites (same handler paths as above) and the seed model (needs TensorFlow).
RUNTIME_TESTS := test_runtime_set test_runtime_interface test_s3_upload test_buffered test_event_sources \
  test_api_events test_presigned_upload
RUNTIME_VENV := .venv-runtime

# The deploy and runtime venvs alone (CI installs them while the tests run).
venvs: $(DEPLOY_VENV)/.deps $(RUNTIME_VENV)/.deps
ARCH := $(shell uname -m)
$(RUNTIME_VENV)/.deps: requirements-runtime-test.txt
	PYENV_VERSION=3.12.1 python3.12 -m venv $(RUNTIME_VENV) || $(PYTHON) -m venv $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/pip install --progress-bar on $(NO_COMPILE) -r requirements-runtime-test.txt
	touch $@

# The set keeps botocore's models of the services the tests' own setup calls besides the function's
# (s3, dynamodb): SQS for the queue, IAM for the role-policy user, EventBridge, S3 Control and
# CloudFormation for the existing-bucket and Batch Operations tests, and X-Ray, since outside Lambda
# the X-Ray SDK's sampler makes an xray client at import (in Lambda it samples locally and makes
# none). tests/handler/test_init.py pins that the function itself creates only its own clients.
runtime-test: $(RUNTIME_VENV)/.deps
	$(RUNTIME_VENV)/bin/python layer/resolve.py --arch $(ARCH) \
	  --python $$($(RUNTIME_VENV)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])') \
	  --botocore-services s3,dynamodb,kms,sqs,xray,iam,events,s3control,cloudformation --out build/runtime-$(ARCH)
	PYTHONPATH=$(CURDIR)/build/runtime-$(ARCH) RUNTIME_ONLY=1 $(RUNTIME_VENV)/bin/python -m pytest -p no:cacheprovider \
	  $(patsubst %,tests/e2e/%.py,$(RUNTIME_TESTS))

clean:
	rm -rf $(VENV) $(DEPLOY_VENV) $(RUNTIME_VENV) build .pytest_cache .mypy_cache .ruff_cache
