"""One SQS batch of hostile 49 MP images and ordinary photos, in a process of its own; prints its peak RSS.

    python -m tests.reliability.memory_batch DIR MEMORY_MB

DIR holds the images (see write_batch); MEMORY_MB becomes AWS_LAMBDA_FUNCTION_MEMORY_SIZE. The
process imports the handler the way Lambda does (model loaded at import), runs the batch through
lambda_handler against in-process moto, and prints one JSON line: VmHWM (this process's peak
resident memory, from /proc), the budget, and each key's stored status and label or error.
"""

from __future__ import annotations

import copy
import io
import json
import os
import struct
import sys
import uuid
import zlib
from pathlib import Path

SIDE = 7_000  # 49 MP: under the 50 MP pixel limit
BUCKET = "leaf-memory"
TABLE = "leaf-memory"
HOSTILE = ("rgba-1.webp", "rgba-2.webp", "rgba-1.png", "rgba-2.png", "grey16-1.png", "grey16-2.png")
# (file name, label index): ordinary phone-sized photos of known condition, between the hostile ones.
ORDINARY = (("leaf-0.jpg", 0), ("leaf-1.jpg", 1), ("leaf-2.jpg", 2), ("leaf-3.png", 3))
ORDER = ("rgba-1.webp", "leaf-0.jpg", "rgba-1.png", "grey16-1.png", "leaf-1.jpg",
         "rgba-2.webp", "leaf-2.jpg", "rgba-2.png", "grey16-2.png", "leaf-3.png")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _flat_png(depth: int, colour_type: int, pixel: bytes) -> bytes:
    """A SIDE x SIDE PNG of one colour, written row by row (Pillow would need the whole image in memory)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + pixel * SIDE
    body = b"".join(compressor.compress(row) for _ in range(SIDE)) + compressor.flush()
    header = struct.pack(">IIBBBBB", SIDE, SIDE, depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def write_batch(directory: Path) -> None:
    """The batch's files: lossless RGBA WebP, RGBA PNG and 16-bit grey PNG at 49 MP, and four leaves."""
    from PIL import Image

    from model.synthetic import make_leaf

    webp = io.BytesIO()
    Image.new("RGBA", (SIDE, SIDE), (40, 150, 40, 96)).save(webp, format="WEBP", lossless=True)
    files = {
        "rgba-1.webp": webp.getvalue(), "rgba-2.webp": webp.getvalue(),
        "rgba-1.png": _flat_png(8, 6, bytes([40, 150, 40, 200])), "rgba-2.png": _flat_png(8, 6, bytes([90, 120, 30, 255])),
        "grey16-1.png": _flat_png(16, 0, (41_000).to_bytes(2, "big")), "grey16-2.png": _flat_png(16, 0, (9_000).to_bytes(2, "big")),
    }
    for name, label in ORDINARY:
        buffer = io.BytesIO()
        make_leaf(label, seed=970_000 + label, size=(640, 480)).save(buffer, format="PNG" if name.endswith("png") else "JPEG")
        files[name] = buffer.getvalue()
    for name, data in files.items():
        (directory / name).write_bytes(data)


def peak_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def sqs_event(etags: dict[str, str], sizes: dict[str, int]) -> dict:
    template = json.loads((Path(__file__).resolve().parents[2] / "events" / "sqs-s3-put.json").read_text(encoding="utf-8"))
    first = template["Records"][0]
    records = []
    for index, name in enumerate(ORDER):
        s3_event = json.loads(first["body"])
        s3_event["Records"][0]["s3"]["bucket"] = {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"}
        s3_event["Records"][0]["s3"]["object"] = {"key": f"garden-images/memory/{name}", "size": sizes[name],
                                                  "eTag": etags[name], "sequencer": f"{index + 1:016X}"}
        record = copy.deepcopy(first)
        record.update(messageId=str(uuid.uuid4()), body=json.dumps(s3_event))
        records.append(record)
    return {"Records": records}


def main(directory: Path, memory_mb: str) -> None:
    os.environ.update(AWS_LAMBDA_FUNCTION_MEMORY_SIZE=memory_mb, TABLE_NAME=TABLE, IMAGES_BUCKET=BUCKET,
                      RESULT_SINK="dynamodb", AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="memory",
                      AWS_SECRET_ACCESS_KEY="memory", POWERTOOLS_METRICS_DISABLED="true", POWERTOOLS_LOG_LEVEL="ERROR")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    with mock_aws():
        import boto3

        from local.template import table_definition

        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        boto3.client("dynamodb").create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST", **table_definition())
        etags, sizes = {}, {}
        for name in ORDER:
            data = (directory / name).read_bytes()
            etags[name] = s3.put_object(Bucket=BUCKET, Key=f"garden-images/memory/{name}", Body=data)["ETag"].strip('"')
            sizes[name] = len(data)
        import handler.app
        from local.context import LocalContext
        from model.decode_budget import container_budget

        reply = handler.app.lambda_handler(sqs_event(etags, sizes), LocalContext())
        table = handler.app.function().container.table
        results = {}
        for name in ORDER:
            item = table.get(f"s3://{BUCKET}/garden-images/memory/{name}") or {}
            results[name] = {"status": item.get("status"), "label": item.get("label"), "error": item.get("error")}
        budget = container_budget()
    print(json.dumps({"peak_kib": peak_kib(), "budget_bytes": budget.total if budget else None,
                      "failures": reply.get("batchItemFailures", []), "results": results}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
