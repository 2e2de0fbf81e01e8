"""Upload -> stored result, as a phone sees it: presigned POST, S3 event, ?wait long-poll; p50/p95.

    python -m bench.upload_latency            # 100 photos (make bench runs this too)
    python -m bench.upload_latency -n 10      # a quick look

On the local stack of `make api` (local.api.api_stack: moto's server, the bucket's S3 -> queue
notifications, the function behind the local gateway, S3 events delivered from the queue): for each
photo, one after another, POST /uploads, the multipart POST straight to S3, then
GET /diagnoses/{key}?wait=20 until the stored result comes back. Each upload is timed from asking
for the form to holding the result, split into its three steps. Writes
bench/results/upload_latency.{json,md}. The real model (model/potato), PlantVillage photos
(the shared test split when present, else local/demo_photos/), each photo under its own key.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SHARED_TEST = ROOT.parent / "shared" / "data" / "potato" / "Test"
DEMO_PHOTOS = ROOT / "local" / "demo_photos"
WAIT_S = 20


def photos(count: int) -> list[Path]:
    folder = SHARED_TEST if SHARED_TEST.is_dir() else DEMO_PHOTOS
    found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not found:
        raise SystemExit(f"no photos under {folder}")
    return [found[i % len(found)] for i in range(count)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def upload_one(session: Any, url: str, photo: Path) -> dict[str, float]:
    content_type = "image/png" if photo.suffix.lower() == ".png" else "image/jpeg"
    started = time.perf_counter()
    asked = session.post(f"{url}/uploads", json={"filename": photo.name, "content_type": content_type}, timeout=30)
    asked.raise_for_status()
    post = asked.json()
    presigned = time.perf_counter()
    with photo.open("rb") as handle:
        sent = session.post(post["url"], data=post["fields"], files={"file": (photo.name, handle, content_type)}, timeout=60)
    sent.raise_for_status()
    posted = time.perf_counter()
    key_path = "/".join(quote(part, safe="") for part in post["key"].split("/"))
    for _ in range(10):
        answer = session.get(f"{url}/diagnoses/{key_path}?wait={WAIT_S}", timeout=WAIT_S + 10)
        if answer.status_code != 404:
            break
    answer.raise_for_status()
    done = time.perf_counter()
    return {"presign_ms": (presigned - started) * 1000, "post_ms": (posted - presigned) * 1000,
            "wait_ms": (done - posted) * 1000, "total_ms": (done - started) * 1000,
            "label": answer.json().get("label"), "bytes": photo.stat().st_size}


def summary(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    return {step: {"p50": round(percentile([r[step] for r in runs], 0.5), 1), "p95": round(percentile([r[step] for r in runs], 0.95), 1),
                   "mean": round(statistics.fmean(r[step] for r in runs), 1)}
            for step in ("presign_ms", "post_ms", "wait_ms", "total_ms")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--photos", type=int, default=100)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    os.environ.update({"MODEL_DIR": os.environ.get("BENCH_MODEL_DIR", str(ROOT / "model" / "potato")),
                       "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "ERROR", "LOCAL_API_QUIET": "1"})
    import requests

    from local import quiet
    from local.api import api_stack

    quiet.configure(verbose=False)
    chosen = photos(args.photos)
    load_before = os.getloadavg()[0]
    began = time.time()
    with api_stack(samples=False) as running, requests.Session() as session:
        upload_one(session, running.url, chosen[0])  # warm-up: first resolver build, first connection; not counted
        runs = [upload_one(session, running.url, photo) for photo in chosen]
    figures = summary(runs)
    result = {"photos": len(runs), "distinct_photos": len(set(chosen)), "figures": figures,
              "mean_bytes": round(statistics.fmean(r["bytes"] for r in runs)),
              "run_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(began)), "seconds": round(time.time() - began, 1),
              "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
              "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)]}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "upload_latency.json").write_text(json.dumps({**result, "runs": runs}, indent=1) + "\n", encoding="utf-8")
    lines = [
        "# Upload -> stored result (presigned POST, S3 event, ?wait long-poll)", "",
        (f"Run {result['run_at']}: {len(runs)} uploads one after another ({result['distinct_photos']} distinct PlantVillage photos, "
         f"mean {result['mean_bytes']:,} bytes), local stack of `make api` (moto's server, S3 -> queue -> function), real model; "
         f"{result['machine']}, load average {result['load_average'][0]} at start, {result['load_average'][1]} at end."), "",
        "| step | p50 ms | p95 ms | mean ms |", "|---|---:|---:|---:|",
    ]
    names = {"presign_ms": "POST /uploads (presigned form)", "post_ms": "multipart POST to S3", "wait_ms": "S3 event -> stored -> ?wait answers",
             "total_ms": "**upload -> result, end to end**"}
    lines += [f"| {names[s]} | {f['p50']} | {f['p95']} | {f['mean']} |" for s, f in figures.items()]
    lines += ["", ("The wait step holds the S3 event's trip through the queue (the local stack long-polls SQS, as the Lambda "
                   "event source mapping would for IngestionMode=buffered; S3 -> Lambda direct has no queue), the diagnosis and "
                   "the long-poll's next look (it looks again after 0.2 s, growing by 1.5x). Times are this machine's, not AWS's.")]
    (args.out / "upload_latency.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[4:4 + 2 + len(figures)]))
    print(f"wrote {args.out / 'upload_latency.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
