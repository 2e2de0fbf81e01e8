# The leaf-diagnosis Lambda image, built by `sam build`. Each RUN is a command that also runs outside
# Docker, so CI checks the same steps:
#   model - take (later: build) the model directory
#   deps  - layer/resolve.py: the pinned runtime set as Lambda-platform wheels, measured
#   final - the Lambda base image with that set, handler/, model/*.py and the model directory

# The base image is multi-arch; PYTHON_TAG=3.12-arm64 or 3.12-x86_64 pins one architecture.
ARG PYTHON_TAG=3.12
# litert ships LiteRT only. keras adds TensorFlow (about 1 GB more) for MODEL_RUNTIME=keras in the
# template; the two settings must match.
ARG MODEL_RUNTIME=litert

FROM public.ecr.aws/lambda/python:${PYTHON_TAG} AS model
WORKDIR /build
COPY model/ model/
# Where the model comes from, inside the build context (only model/ is sent, see .dockerignore).
# Default: the real potato-leaf model (make model); model/demo is the synthetic test fixture.
ARG MODEL_SOURCE=model/leaves
# ==== MODEL BUILD STEP ==========================================================================
# MODEL_SOURCE must be an already built directory: build it outside Docker with
#   python -m model.build --h5 my.h5 --labels labels.txt --preprocess inception --out model/mine
# (see docs/models.md "Use your own model"), so its parity check runs where you can read it, then pass
# MODEL_SOURCE=model/mine. The final stage loads it and checks model.tflite against its sha256.
RUN test -f "$MODEL_SOURCE/metadata.json" \
    || { echo "MODEL_SOURCE=$MODEL_SOURCE has no metadata.json: it is not a built model directory" >&2; exit 1; } \
 && cp -r "$MODEL_SOURCE" /build/model-dir
# ================================================================================================

FROM public.ecr.aws/lambda/python:${PYTHON_TAG} AS deps
ARG MODEL_RUNTIME
WORKDIR /build
# requirements-dev.txt holds the TensorFlow pin that MODEL_RUNTIME=keras adds.
COPY layer/ layer/
COPY requirements-dev.txt .
# `uname -m` is this stage's own architecture (x86_64 or aarch64): the one the image is built for.
RUN python layer/resolve.py --arch "$(uname -m)" --python 3.12 --runtime "$MODEL_RUNTIME" --out /opt/layer

FROM public.ecr.aws/lambda/python:${PYTHON_TAG}
ARG MODEL_RUNTIME
# Third-party packages come only from the resolved set, exactly as resolve.py measured it.
COPY --from=deps /opt/layer/ ${LAMBDA_TASK_ROOT}/
COPY handler/ ${LAMBDA_TASK_ROOT}/handler/
COPY model/*.py ${LAMBDA_TASK_ROOT}/model/
# Whatever MODEL_SOURCE was, it lands in the one path MODEL_DIR names.
COPY --from=model /build/model-dir/ ${LAMBDA_TASK_ROOT}/model/bundled/
ENV MODEL_DIR=${LAMBDA_TASK_ROOT}/model/bundled \
    MODEL_RUNTIME=${MODEL_RUNTIME}
# Precompile our code (/var/task is read-only when the function runs), then load the model once with
# the shipped packages, which also checks model.tflite against the sha256 in metadata.json, and create
# the function's clients: botocore keeps only their service models (resolve.py FUNCTION_SERVICES).
# Last, XNNPACK's packed weights go beside model.tflite (model.xnnpack-cache, as large as the model): the
# function maps them at init instead of packing. They are packed for this build machine's CPU; on a
# Lambda CPU whose kernels differ, XNNPACK's fingerprints do not match and it packs at init as before.
RUN python -m compileall -q --invalidation-mode unchecked-hash handler model \
 && python -c 'import os; from pathlib import Path; from model.runtime import load_classifier; \
c = load_classifier(Path(os.environ["MODEL_DIR"]), os.environ["MODEL_RUNTIME"], verify=True); \
print("model", c.meta.name, c.model_version, "loads with", os.environ["MODEL_RUNTIME"])' \
 && python -c 'import boto3; [boto3.client(s, region_name="us-east-1") for s in ("s3", "dynamodb")]' \
 && if [ "$MODEL_RUNTIME" = litert ]; then python -c 'import os; from pathlib import Path; \
from model.runtime import build_weight_cache; print("XNNPACK weight cache", build_weight_cache(Path(os.environ["MODEL_DIR"])))'; fi
CMD ["handler.app.lambda_handler"]
