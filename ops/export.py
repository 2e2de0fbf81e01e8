"""Every stored diagnosis of a bucket, newest first, straight from the results table, to CSV or JSON.

    python -m ops.export --table leaf-diagnoses --bucket leaf-images --out results.csv
    python -m ops.export --table T --bucket B --prefix garden-images/beds/ --since 2026-12-01 --out x.json
    python -m ops.export --table leaf-diagnoses-local --bucket leaf-images-local --endpoint http://127.0.0.1:5000 --out x.csv

For operators with read access to the table (dynamodb:Query on its by-time index): no API, no
thumbnails. A Query on the listing index, page by page, never a Scan of the table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from handler.listing import INDEX_NAME, listing_of
from handler.stores import DynamoResultStore
from local.result_files import write_records


def stored(dynamodb: Any, table: str, bucket: str, *, prefix: str = "", since: str | None = None) -> Iterator[dict[str, Any]]:
    """The bucket's records as the API shows them, newest first."""
    store = DynamoResultStore(dynamodb, table)
    listing = listing_of(f"s3://{bucket}/")
    request: dict[str, Any] = {"TableName": table, "IndexName": INDEX_NAME, "ScanIndexForward": False,
                               "KeyConditionExpression": "listing = :l", "ExpressionAttributeValues": {":l": {"S": listing}}}
    if since:
        request["KeyConditionExpression"] += " AND listed_at >= :s"
        request["ExpressionAttributeValues"][":s"] = {"S": since}
    if prefix:
        request["FilterExpression"] = "begins_with(image, :p)"
        request["ExpressionAttributeValues"][":p"] = {"S": f"{listing}{prefix}"}
    for page in dynamodb.get_paginator("query").paginate(**request):
        for raw in page.get("Items", []):
            yield store.shown(raw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.export", description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="the results table (the stack's TableName output)")
    parser.add_argument("--bucket", required=True, help="the images bucket whose results to export")
    parser.add_argument("--prefix", default="", help="only keys under this prefix")
    parser.add_argument("--since", help="only results stored since this ISO date or time (UTC)")
    parser.add_argument("--out", type=Path, required=True, help="a .csv or .json file")
    parser.add_argument("--endpoint", help="a local endpoint (moto's server)")
    args = parser.parse_args(argv)
    if args.out.suffix.lower() not in (".csv", ".json"):
        parser.error("--out must end in .csv or .json")
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from handler.api.errors import BadRequestError
    from handler.api.listing import read_since

    try:
        since = read_since(args.since)
        records = list(stored(boto3.client("dynamodb", endpoint_url=args.endpoint), args.table, args.bucket,
                              prefix=args.prefix, since=since))
    except (ClientError, BotoCoreError) as exc:
        print(f"error: reading {args.table} failed: {exc}", file=sys.stderr)
        return 1
    except BadRequestError as exc:  # a --since that is no time
        parser.error(exc.msg)
    write_records(records, args.out)
    print(f"wrote {len(records)} stored diagnoses to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
