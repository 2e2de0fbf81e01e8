"""The listing index's two attributes, written on every stored result so GET /diagnoses is a Query, not a Scan.

listing   = "s3://<bucket>/": one partition per images bucket (the index's partition key);
listed_at = "<diagnosed_at>#<16 hex of sha256(image)>": ISO time first, so the sort order is the time
            order and ?since= is a key condition; the digest keeps equal times apart and bounds the
            attribute (an index key may hold 1,024 bytes, an S3 key alone may fill that).
"""

from __future__ import annotations

import hashlib

INDEX_NAME = "by-time"  # template.yaml's GlobalSecondaryIndexes
LISTING_ATTRIBUTES = ("listing", "listed_at")


def listing_of(image: str) -> str:
    """"s3://bucket/" of "s3://bucket/key"."""
    bucket = image[len("s3://"):].split("/", 1)[0]
    return f"s3://{bucket}/"


def listing_attributes(image: str, diagnosed_at: str) -> dict[str, str]:
    digest = hashlib.sha256(image.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return {"listing": listing_of(image), "listed_at": f"{diagnosed_at}#{digest}"}
