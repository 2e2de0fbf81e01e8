"""Turn a bucket's EventBridge notifications on or off, leaving its other notifications as they are.

    python -m ops.bucket_events enable s3://BUCKET [--dry-run]
    python -m ops.bucket_events disable s3://BUCKET [--dry-run]

PutBucketNotificationConfiguration replaces the bucket's whole configuration, so this reads it,
changes only EventBridgeConfiguration, and writes back every queue, topic and Lambda notification
exactly as read. Running it twice changes nothing the second time.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from handler.s3_uri import split_s3_uri

EVENTBRIDGE = "EventBridgeConfiguration"
# The destinations S3 may also send to, with how to name them in the summary.
OTHER_KINDS = {
    "QueueConfigurations": "queue",
    "TopicConfigurations": "topic",
    "LambdaFunctionConfigurations": "Lambda function",
}


@dataclass(frozen=True)
class Change:
    """What enabling or disabling does to one bucket's configuration."""

    bucket: str
    was_on: bool
    on: bool
    kept: dict[str, int]  # other configurations, by kind, written back unchanged

    @property
    def changes(self) -> bool:
        return self.was_on != self.on


def parse_bucket_uri(uri: str) -> str:
    """s3://bucket (a trailing "/" is fine); a key or prefix is refused: the setting is the bucket's."""
    try:
        bucket, prefix = split_s3_uri(uri)
    except ValueError as exc:
        raise ValueError(f"expected s3://BUCKET (the whole bucket, no prefix), got {uri!r}") from exc
    if not bucket or prefix.strip("/"):
        raise ValueError(f"expected s3://BUCKET (the whole bucket, no prefix), got {uri!r}")
    return bucket


def read_configuration(s3: Any, bucket: str) -> dict[str, Any]:
    """The bucket's notification configuration as PutBucketNotificationConfiguration takes it."""
    response = s3.get_bucket_notification_configuration(Bucket=bucket)
    return {key: value for key, value in response.items() if key != "ResponseMetadata"}


def with_eventbridge(configuration: dict[str, Any], on: bool) -> dict[str, Any]:
    """The same configuration with EventBridge on or off; nothing else differs."""
    updated = {key: value for key, value in configuration.items() if key != EVENTBRIDGE}
    if on:
        updated[EVENTBRIDGE] = {}
    return updated


def set_eventbridge(s3: Any, bucket: str, on: bool, dry_run: bool = False) -> Change:
    """Read, change EventBridgeConfiguration, write back; nothing is written when it already is so."""
    configuration = read_configuration(s3, bucket)
    change = Change(
        bucket=bucket,
        was_on=EVENTBRIDGE in configuration,
        on=on,
        kept={kind: len(configuration.get(kind, [])) for kind in OTHER_KINDS},
    )
    if change.changes and not dry_run:
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration=with_eventbridge(configuration, on),
            # No destination is added (EventBridge needs none), so S3 need not re-check, and send test
            # events to, the queues, topics and functions that were already configured.
            SkipDestinationValidation=True,
        )
    return change


def describe(change: Change, dry_run: bool) -> str:
    state = {True: "on", False: "off"}
    kept = ", ".join(f"{count} {OTHER_KINDS[kind]}" for kind, count in change.kept.items())
    if not change.changes:
        head = f"s3://{change.bucket}: EventBridge notifications already {state[change.on]}; nothing written"
    else:
        verb = "would turn" if dry_run else "turned"
        head = f"s3://{change.bucket}: {verb} EventBridge notifications {state[change.was_on]} -> {state[change.on]}"
    lines = [head, f"  other notifications kept as they were: {kept}"]
    if change.changes and dry_run:
        lines.append("  dry run: nothing written")
    if change.changes and change.on and not dry_run:
        lines.append("  every event of this bucket now also goes to EventBridge's default bus (no charge for it)")
    return "\n".join(lines)


def run(s3: Any, action: str, uri: str, dry_run: bool, out: TextIO = sys.stdout) -> int:
    try:
        bucket = parse_bucket_uri(uri)
        change = set_eventbridge(s3, bucket, on=action == "enable", dry_run=dry_run)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as exc:
        print(f"error: cannot {action} EventBridge notifications on {uri}: {exc}", file=sys.stderr)
        return 1
    print(describe(change, dry_run), file=out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["enable", "disable"])
    parser.add_argument("bucket", metavar="s3://BUCKET")
    parser.add_argument("--dry-run", action="store_true", help="show the change, write nothing")
    parser.add_argument("--endpoint", help="a local S3 endpoint, e.g. the one `make demo` prints")
    args = parser.parse_args(argv)

    import boto3

    from local.aws import use_local_credentials

    if args.endpoint:
        use_local_credentials(args.endpoint)
    return run(boto3.client("s3"), args.action, args.bucket, args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
