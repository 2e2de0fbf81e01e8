"""A folder of photos through the API's presigned uploads, and stored results out to CSV or JSON.

    python -m local.client upload DIR [--wait] [--out results.csv|results.json] [--auth iam] [--api-key KEY]
    python -m local.client export [--out results.csv|.json] [--prefix garden-images/] [--since 2026-12-01]

`upload` asks POST /uploads for a presigned POST per photo, posts the photo straight to S3 (the
API never carries the bytes, so there is no 6 MB limit), then with --wait long-polls
GET /diagnoses/{key}?wait=20 until every result is stored. `export` follows GET /diagnoses' `next`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from local.api_session import ApiError, add_auth_options, call_json, session_from
from local.result_files import write_records

PHOTO_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
WAIT_S = 20  # each GET holds up to this long server-side
UPLOAD_TIMEOUT = (5.0, 120.0)  # a 20 MB photo on a slow link
COLUMNS = ("file", "key", "status", "label", "confidence", "detail")


@dataclass
class Row:
    """One photo: where it went and what was stored for it."""

    file: str
    key: str = ""
    result: dict[str, Any] = field(default_factory=dict)
    failure: str = ""

    def as_record(self) -> dict[str, Any]:
        r = self.result
        status = r.get("status", "uploaded")
        if r.get("recognized") is False:
            status = "not recognised"
        if self.failure:
            status = "failed"
        detail = self.failure or r.get("error") or r.get("reason") or ""
        label = r.get("display_label") or r.get("label") or ""
        return {"file": self.file, "key": self.key, "status": status, "label": label,
                "confidence": r.get("confidence", ""), "detail": detail}


def photos_in(folder: Path) -> list[Path]:
    """The photos under `folder`, in a stable order; other files are left alone."""
    if not folder.is_dir():
        raise ApiError(f"{folder} is not a folder")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_TYPES)


def upload_photo(api: str, session: requests.Session, path: Path, storage: Any = requests) -> str:
    """POST /uploads, then the photo to the presigned URL; the key it was stored under."""
    _, post = call_json("POST", f"{api}/uploads", session,
                        json={"filename": path.name, "content_type": PHOTO_TYPES[path.suffix.lower()]})
    if not isinstance(post, dict) or not {"url", "fields", "key"} <= post.keys():
        raise ApiError(f"POST {api}/uploads answered an unexpected body: {str(post)[:200]}")
    with path.open("rb") as photo:
        # Not through `session`: the form's policy is the credential, and S3 refuses a second one.
        answer = storage.post(post["url"], data=post["fields"],
                              files={"file": (path.name, photo, post["fields"].get("Content-Type"))}, timeout=UPLOAD_TIMEOUT)
    if not 200 <= answer.status_code < 300:
        raise ApiError(f"storage refused {path.name}: {answer.status_code} {answer.text[:300]}")
    return str(post["key"])


def wait_for_result(api: str, session: requests.Session, key: str, timeout_s: float = 180.0,
                    clock: Callable[[], float] = time.monotonic) -> dict[str, Any]:
    """The stored result of `key`, long-polling until `timeout_s`; ApiError when none came."""
    deadline = clock() + timeout_s
    url = f"{api}/diagnoses/{quote(key, safe='/')}"
    while True:
        status, payload = call_json("GET", url, session, allow=(200, 404), params={"wait": WAIT_S},
                                    timeout=(5.0, WAIT_S + 15.0))
        if status == 200:
            return payload
        if clock() >= deadline:
            raise ApiError(f"no result for {key} after {timeout_s:.0f} s")


def upload_folder(folder: Path, api: str, session: requests.Session, *, wait: bool, timeout_s: float = 180.0,
                  storage: Any = requests, progress: bool = True) -> list[Row]:
    """Upload every photo (a progress bar over the bytes), then, with `wait`, collect each result."""
    from tqdm import tqdm

    photos = photos_in(folder)
    rows = [Row(file=str(path.relative_to(folder))) for path in photos]
    with tqdm(total=sum(p.stat().st_size for p in photos), unit="B", unit_scale=True, desc="uploading",
              disable=not progress, file=sys.stderr) as bar:
        for row, path in zip(rows, photos):
            try:
                row.key = upload_photo(api, session, path, storage)
            except ApiError as exc:
                row.failure = str(exc)
            bar.update(path.stat().st_size)
    if wait:
        for row in tqdm([r for r in rows if r.key], desc="waiting", unit="photo", disable=not progress, file=sys.stderr):
            try:
                row.result = wait_for_result(api, session, row.key, timeout_s)
            except ApiError as exc:
                row.failure = str(exc)
    return rows


def stored_results(api: str, session: requests.Session, *, prefix: str | None = None, since: str | None = None,
                   page_size: int = 100) -> Iterator[dict[str, Any]]:
    """Every stored diagnosis, newest first, following GET /diagnoses' `next` token."""
    params: dict[str, Any] = {"limit": page_size, **({"prefix": prefix} if prefix else {}), **({"since": since} if since else {})}
    while True:
        _, page = call_json("GET", f"{api}/diagnoses", session, params=params)
        yield from page.get("items", [])
        if not page.get("next"):
            return
        params["next"] = page["next"]


def write_results(records: list[dict[str, Any]], out: Path) -> None:
    """CSV (one row each, the columns of the first record) or JSON (a list), by the file's suffix."""
    if out.suffix.lower() not in (".json", ".csv"):
        raise ApiError(f"--out must end in .csv or .json, not {out.name!r}")
    write_records(records, out)


def table(records: list[dict[str, Any]]) -> str:
    """A plain text table of the rows' COLUMNS."""
    cells = [[str(r.get(c, "")) if not isinstance(r.get(c), float) else f"{r[c]:.3f}" for c in COLUMNS] for r in records]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.client", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    upload = commands.add_parser("upload", help="upload a folder of photos through presigned POSTs")
    upload.add_argument("folder", type=Path)
    upload.add_argument("--wait", action="store_true", help="wait for every result (long-poll)")
    upload.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for each result (default 180)")
    export = commands.add_parser("export", help="write every stored diagnosis to CSV or JSON")
    export.add_argument("--prefix", help="only keys under this prefix")
    export.add_argument("--since", help="only results stored since this ISO date or time")
    for command in (upload, export):
        command.add_argument("--out", type=Path, help="write the results to this .csv or .json file")
        add_auth_options(command)
    args = parser.parse_args(argv)
    api = args.api.rstrip("/")
    try:
        session = session_from(args)
        if args.command == "upload":
            rows = upload_folder(args.folder, api, session, wait=args.wait, timeout_s=args.timeout)
            records = [row.as_record() for row in rows]
            print(table(records))
            failed = sum(1 for r in records if r["status"] == "failed")
        else:
            records, failed = list(stored_results(api, session, prefix=args.prefix, since=args.since)), 0
            print(f"{len(records)} stored diagnoses")
        if args.out:
            write_results(records, args.out)
            print(f"wrote {len(records)} rows to {args.out}")
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 1 if failed else 0
