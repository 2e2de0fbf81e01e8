"""The baseline: the seed API's inference path, as it was written, behind a Lambda-style S3 handler.

Faithful to the seed (UPstartDeveloper/plantnet-api): the architecture JSON read with the Keras 2
API and `load_weights`, the photo opened at full resolution (no JPEG draft, no EXIF rotation),
`img_to_array`, `tf.image.resize` to 256x256, `inception_v3.preprocess_input`,
`model(x, training=False)`, argmax. Only the transport changed: the bytes come from S3 and the
answer goes to DynamoDB, as in our handler, so both pay for the same I/O.
Configured by the environment: SEED_WEIGHTS (the .h5 file), SEED_ARCHITECTURE (the JSON; the seed's
by default), TABLE_NAME, AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import io
import json
import os
import time
from decimal import Decimal
from urllib.parse import unquote_plus

import boto3
import numpy as np
import tensorflow as tf
import tf_keras
from PIL import Image

from bench.build import ARCHITECTURE, labels

LEAF_LABELS = np.array(labels())

with open(os.environ.get("SEED_ARCHITECTURE", ARCHITECTURE), encoding="utf-8") as f:
    model = tf_keras.models.model_from_json(f.read())
    model.load_weights(os.environ["SEED_WEIGHTS"])

s3 = boto3.client("s3")
dynamodb = boto3.client("dynamodb")
TABLE = os.environ["TABLE_NAME"]


def read_object(bucket: str, key: str) -> bytes:
    """GET the uploaded photo."""
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def preprocess_image(image: Image.Image) -> tf.Tensor:
    """The seed's preprocessing, step for step."""
    tensor_image = tf_keras.preprocessing.image.img_to_array(image)
    resized_img = tf.image.resize(tensor_image, [256, 256])
    return tf_keras.applications.inception_v3.preprocess_input(resized_img)


def predict(final_input: np.ndarray):
    """The seed's model call."""
    return model(final_input, training=False)[0]


def store_result(uri: str, result: dict, latency_ms: float) -> None:
    """One DynamoDB item per image, like ours."""
    item = {
        "image": {"S": uri},
        "status": {"S": "ok"},
        "label": {"S": result["label"]},
        "confidence": {"N": str(Decimal(str(round(result["confidence"], 6))))},
        "model_version": {"S": "seed"},
        "latency_ms": {"N": str(round(latency_ms, 1))},
    }
    dynamodb.put_item(TableName=TABLE, Item=item)


def lambda_handler(event: dict, context: object) -> dict:
    results = []
    for record in event["Records"]:
        started = time.perf_counter()
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        image = Image.open(io.BytesIO(read_object(bucket, key)))
        final_image = preprocess_image(image)
        final_input = np.expand_dims(final_image, axis=0)
        prediction_probabilities = predict(final_input)
        index_highest_proba = np.argmax(prediction_probabilities)
        result = {
            "label": str(LEAF_LABELS[index_highest_proba]),
            "confidence": float(prediction_probabilities[index_highest_proba]),
        }
        store_result(f"s3://{bucket}/{key}", result, (time.perf_counter() - started) * 1000)
        results.append({"image": f"s3://{bucket}/{key}", "status": "ok", **result})
    return {"status": "done", "results": json.loads(json.dumps(results))}
