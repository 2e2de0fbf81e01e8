"""Diagnose a photo through the API: a local file is uploaded, an S3 URL or key is named.

    python -m local.client photo.jpg [--api http://127.0.0.1:3000]
    python -m local.client s3://bucket/garden-images/leaf.jpg
    python -m local.client https://bucket.s3.amazonaws.com/garden-images/leaf.jpg
    python -m local.client --key garden-images/leaf.jpg
    python -m local.client --result garden-images/leaf.jpg   # read the stored diagnosis
    python -m local.client upload DIR --wait --out results.csv  # a folder, through presigned POSTs (local.folder_client)
    python -m local.client export --out results.json           # every stored diagnosis, page by page

The seed's "lesson 2" client, with timeouts, status checks and errors that say what went wrong.
Against a deployed API: `--auth iam` signs each request with SigV4 (credentials from the standard
chain: environment, profile, SSO, instance role), `--api-key KEY` (or $LEAF_API_KEY) sends x-api-key.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from local import folder_client
from local.api_session import (  # noqa: F401 - re-exported: the seed-style client's public names
    DEFAULT_API,
    ApiError,
    SigV4,
    add_auth_options,
    api_session,
    call_json,
    session_from,
    signing_target,
)

FOLDER_COMMANDS = ("upload", "export")

def diagnose(target: str | Path, api: str = DEFAULT_API, *, session: requests.Session | None = None) -> dict[str, Any]:
    """Upload a local file, or name an S3 URL; return the diagnosis."""
    text = str(target)
    if "://" in text and not Path(text).is_file():  # the API decides which URLs it takes
        return _call("POST", f"{api}/diagnoses", session, json={"url": text})
    path = Path(target)
    if not path.is_file():
        raise ApiError(f"{path} is not a file (give a photo, an s3:// URL or an https:// S3 URL)")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    with path.open("rb") as photo:
        # The seed's call: multipart field `image`.
        return _call("POST", f"{api}/diagnoses", session, files={"image": (path.name, photo, content_type)})


def diagnose_key(key: str, api: str = DEFAULT_API, *, session: requests.Session | None = None) -> dict[str, Any]:
    """Diagnose an object already in the images bucket, by key."""
    return _call("POST", f"{api}/diagnoses", session, json={"key": key})


def stored_result(key: str, api: str = DEFAULT_API, *, session: requests.Session | None = None) -> dict[str, Any]:
    """The diagnosis stored for an object in the images bucket."""
    return _call("GET", f"{api}/diagnoses/{quote(key, safe='/')}", session)


def _call(method: str, url: str, session: requests.Session | None, **kwargs: Any) -> dict[str, Any]:
    _, payload = call_json(method, url, session, **kwargs)
    if not isinstance(payload, dict) or "label" not in payload:
        raise ApiError(f"{method} {url} answered an unexpected body: {str(payload)[:200]}")
    return payload


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in FOLDER_COMMANDS:
        return folder_client.main(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", nargs="?", help="a photo file, an s3:// URL or an https:// S3 URL")
    parser.add_argument("--key", help="diagnose this key of the images bucket instead")
    parser.add_argument("--result", metavar="KEY", help="print the stored diagnosis of this key")
    add_auth_options(parser)
    parser.add_argument("--json", action="store_true", help="print the whole JSON result")
    args = parser.parse_args(argv)
    api = args.api.rstrip("/")
    try:
        session = session_from(args)
        if args.result:
            result = stored_result(args.result, api, session=session)
        elif args.key:
            result = diagnose_key(args.key, api, session=session)
        elif args.target:
            result = diagnose(args.target, api, session=session)
        else:
            parser.error("give a photo, an S3 URL, --key or --result")
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        confidence = result.get("confidence")
        shown = f"{confidence:.1%}" if isinstance(confidence, (int, float)) else "-"
        print(f"{result.get('label') or result.get('error')}  (confidence {shown}, model {result.get('model_version')})")
        for candidate in result.get("top_k", [])[1:]:
            print(f"  then {candidate['label']}  {candidate['confidence']:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
