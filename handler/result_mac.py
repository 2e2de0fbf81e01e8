"""A MAC that proves a result in an object's metadata was written by this function (KMS HMAC key).

Anyone who may upload can set x-amz-meta-diagnosis-*; only this function's role may use the HMAC
key (template.yaml, ResultMacKey). The MAC covers the bucket, the key, the ETag of the bytes that
were diagnosed and the result, so a result can be neither forged nor moved to other bytes or keys.
Why KMS and not a secret fetched once per container: docs/reliability.md, "Forged results".
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.client_errors import error_code
from handler.errors import TransientError

MAC_ALGORITHM = "HMAC_SHA_256"
_FORMAT = "leaf-diagnosis-result/1"  # a new message layout gets a new name: old MACs then fail, never collide


def result_message(bucket: str, key: str, etag: str, result: dict[str, str]) -> bytes:
    """The signed bytes: one JSON array, so no two different inputs give the same message."""
    return json.dumps([_FORMAT, bucket, key, etag, sorted(result.items())], ensure_ascii=True,
                      separators=(",", ":")).encode("ascii")


class ResultMac:
    """GenerateMac / VerifyMac on one KMS HMAC key; the key material never leaves KMS."""

    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    def sign(self, message: bytes) -> str:
        try:
            response = self._kms.generate_mac(KeyId=self._key_id, Message=message, MacAlgorithm=MAC_ALGORITHM)
        except ClientError as exc:
            raise TransientError(f"signing a result with the KMS key failed: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"signing a result with the KMS key failed: {exc}") from exc
        return base64.b64encode(response["Mac"]).decode("ascii")

    def verify(self, message: bytes, mac: str) -> bool:
        """False for a MAC that is not ours; TransientError when KMS cannot answer."""
        try:
            raw = base64.b64decode(mac, validate=True)
        except (binascii.Error, ValueError):
            return False
        if not raw or len(raw) > 64:
            return False
        try:
            response = self._kms.verify_mac(KeyId=self._key_id, Message=message, MacAlgorithm=MAC_ALGORITHM, Mac=raw)
        except ClientError as exc:
            if error_code(exc) == "KMSInvalidMacException":
                return False
            raise TransientError(f"verifying a result with the KMS key failed: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise TransientError(f"verifying a result with the KMS key failed: {exc}") from exc
        return bool(response.get("MacValid"))
