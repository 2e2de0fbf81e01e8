from pathlib import Path

import pytest

from handler.config import BUNDLED_MODEL_DIR, Settings
from handler.errors import ConfigError


def test_defaults_need_only_a_table():
    settings = Settings.from_env({"TABLE_NAME": "results"})
    assert settings.image_prefix == "garden-images/"
    assert settings.result_sink == "dynamodb"
    assert settings.model_dir == BUNDLED_MODEL_DIR
    assert settings.model_runtime == "litert"
    assert settings.writes_table and not settings.writes_metadata


def test_metadata_sink_needs_no_table():
    settings = Settings.from_env({"RESULT_SINK": "s3-metadata", "RESULT_MAC_KEY": "arn:aws:kms:k", "MODEL_DIR": "/opt/model"})
    assert settings.writes_metadata and not settings.writes_table
    assert settings.result_mac_key == "arn:aws:kms:k" and not settings.keep_object_acl
    assert settings.model_dir == Path("/opt/model")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "TABLE_NAME"),
        ({"RESULT_SINK": "both"}, "TABLE_NAME"),
        ({"TABLE_NAME": "t", "RESULT_SINK": "s3"}, "RESULT_SINK"),
        ({"TABLE_NAME": "t", "MODEL_RUNTIME": "onnx"}, "MODEL_RUNTIME"),
        ({"TABLE_NAME": "t", "MAX_IMAGE_BYTES": "lots"}, "MAX_IMAGE_BYTES"),
        ({"TABLE_NAME": "t", "MAX_IMAGE_PIXELS": "-5"}, "MAX_IMAGE_PIXELS"),
        ({"TABLE_NAME": "t", "TOP_K": "0"}, "TOP_K"),
        ({"TABLE_NAME": "t", "IMAGE_PREFIX": "/garden-images/"}, "IMAGE_PREFIX"),
        ({"RESULT_SINK": "s3-metadata"}, "RESULT_MAC_KEY"),  # metadata alone, unsigned, could be anyone's
        ({"TABLE_NAME": "t", "KEEP_OBJECT_ACL": "yes"}, "KEEP_OBJECT_ACL"),
    ],
)
def test_bad_configuration_names_the_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)
