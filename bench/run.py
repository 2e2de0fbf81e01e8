"""Benchmark the handler against the seed's way: fresh processes, same model, same images, one run.

    python -m bench.run              # full: 3 cold starts per variant, 30 warm invocations per image
    python -m bench.run --quick      # CI: 1 cold start per variant, 3 warm invocations per image
    python -m bench.run --quick --stand-in   # the tests: a small network instead of InceptionV3
    python -m bench.run --s3 simulated   # the same, every S3 reply 15 ms late and 50-100 MB/s

Starts moto's server (S3 + DynamoDB over HTTP), uploads the real 12 MP photo and a 256x256 image,
builds the model artifacts once (build/bench-model/), then runs every variant as subprocesses
(one per cold start) and writes results.md, results.json and chart.png to --out. Last, over the
simulated S3, the model the build accepts decodes while downloading against reading the body whole
first (how the handler worked before), side by side.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench import report, streaming
from bench.build import DEFAULT_OUT as MODEL_CACHE
from bench.build import SHARED
from local.faults import SIMULATED_S3, FaultProxy

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PHOTO = SHARED / "sample_leaf.jpg"
EVENT_TEMPLATE = ROOT / "events" / "s3-put.json"
BUCKET = "leaf-images-bench"
TABLE = "leaf-diagnoses-bench"
IMAGES = {"photo": "garden-images/bench/sample_leaf-12mp.jpg", "small": "garden-images/bench/leaf-256.jpg"}


@dataclass(frozen=True)
class Variant:
    name: str
    label: str
    kind: str  # "baseline" (bench.seed_handler) or "ours" (handler.app)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def module(self) -> str:
        return "bench.seed_handler" if self.kind == "baseline" else "handler.app"


def variants(cache: Path) -> list[Variant]:
    return [
        Variant(
            "baseline",
            "seed's way (Keras 2, full-res decode)",
            "baseline",
            {"SEED_WEIGHTS": str(cache / "seed" / "weights.h5"),
             "SEED_ARCHITECTURE": str(cache / "seed" / "architecture.json")},
        ),
        Variant(
            "litert-f32",
            "ours, LiteRT float32",
            "ours",
            {"MODEL_DIR": str(cache / "float32"), "MODEL_RUNTIME": "litert"},
        ),
        Variant(
            "litert-int8",
            "ours, LiteRT int8 dynamic-range",
            "ours",
            {"MODEL_DIR": str(cache / "int8"), "MODEL_RUNTIME": "litert"},
        ),
        Variant(
            "keras",
            "ours, MODEL_RUNTIME=keras",
            "ours",
            {"MODEL_DIR": str(cache / "float32"), "MODEL_RUNTIME": "keras"},
        ),
    ]


def lambda_env(endpoint: str, memory_mb: int) -> dict[str, str]:
    """What the worker sees: local credentials and endpoint, and Lambda's own variables.

    LAMBDA_TASK_ROOT makes Powertools' Tracer and the X-Ray SDK take their in-Lambda paths
    (tracing active, subsegments sent over UDP to a daemon address nobody listens on), as the
    deployed function with `Tracing: Active` does.
    """
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "_X_AMZN"))}
    keep.pop("TABLE_NAME", None)
    return {
        **keep,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "TABLE_NAME": TABLE,
        "RESULT_SINK": "dynamodb",
        "IMAGES_BUCKET": BUCKET,
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_LAMBDA_FUNCTION_NAME": "leaf-diagnosis-bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "PYTHONPATH": str(ROOT),
    }


def small_image(photo: bytes) -> bytes:
    """A 256x256 JPEG of the same leaf: the size the model takes, no resize needed."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(Image.open(io.BytesIO(photo))).convert("RGB").resize((256, 256))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def put_event(key: str, etag: str, size: int) -> dict:
    event = json.loads(EVENT_TEMPLATE.read_text(encoding="utf-8"))
    record = event["Records"][0]
    record["s3"]["bucket"].update(name=BUCKET, arn=f"arn:aws:s3:::{BUCKET}")
    record["s3"]["object"].update(key=key.replace(" ", "+"), eTag=etag, size=size)
    return event


def upload_images(s3) -> dict[str, dict]:
    photo = PHOTO.read_bytes()
    events = {}
    for name, data in (("photo", photo), ("small", small_image(photo))):
        response = s3.put_object(Bucket=BUCKET, Key=IMAGES[name], Body=data, ContentType="image/jpeg")
        events[name] = put_event(IMAGES[name], response["ETag"].strip('"'), len(data))
    return events


def run_worker(variant: Variant, job: dict, env: dict[str, str], raw: Path, tag: str) -> dict:
    """Spawn one fresh process; cold start is measured from just before the spawn."""
    job_path, report_path, log_path = (raw / f"{tag}.{ext}" for ext in ("job.json", "report.json", "log"))
    job_path.write_text(json.dumps(job))
    report_path.unlink(missing_ok=True)
    with log_path.open("w") as log:
        spawned = time.time()
        proc = subprocess.run(
            [sys.executable, "-m", "bench.worker", str(job_path), str(report_path)],
            check=False,
            cwd=ROOT,
            env={**env, **variant.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=900,
        )
    if proc.returncode != 0 or not report_path.is_file():
        tail = log_path.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{variant.name} worker failed (exit {proc.returncode}); log {log_path}:\n{tail}")
    result = json.loads(report_path.read_text())
    result["spawned"] = spawned
    return result


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def commit() -> str:
    """The commit measured, with '+dirty' when the work tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], check=False, cwd=ROOT, capture_output=True,
            text=True
        )
    except OSError:
        return "unknown"
    return (head.stdout.strip() or "unknown") + ("+dirty" if dirty.stdout.strip() else "")


def measure(
    chosen: list[Variant],
    cold: int,
    warm: int,
    events: dict[str, dict],
    env: dict[str, str],
    raw: Path,
    dynamodb,
    profile: bool = False,
) -> dict[str, list[dict]]:
    """Every variant's cold starts, the variants taking turns; warm loops in each one's last process."""
    photo_uri = f"s3://{BUCKET}/{IMAGES['photo']}"
    results: dict[str, list[dict]] = {v.name: [] for v in chosen}
    for rep in range(cold):
        for variant in chosen:
            last = rep == cold - 1
            job = {
                "module": variant.module,
                "kind": variant.kind,
                "cold_event": events["photo"],
                "warm_iterations": warm if last else 0,
                "warm_events": events if last else {},
                "profile": str(raw / f"{variant.name}.prof") if profile and last else None,
            }
            dynamodb.delete_item(TableName=TABLE, Key={"image": {"S": photo_uri}})
            print(
                f"  [{rep + 1}/{cold}] {variant.name:<12} cold start{' + warm loops' * last} ...",
                end="",
                flush=True,
            )
            result = run_worker(variant, job, env, raw, f"{variant.name}-{rep + 1}")
            item = dynamodb.get_item(TableName=TABLE, Key={"image": {"S": photo_uri}}, ConsistentRead=True)
            if item.get("Item", {}).get("status", {}).get("S") != "ok":
                raise SystemExit(f"{variant.name}: no ok result stored for {photo_uri}")
            results[variant.name].append(result)
            line = f" {result['first_stored'] - result['spawned']:.2f} s"
            if result["warm"]:
                photo = sorted(r["total"] for r in result["warm"]["photo"])
                rss = result["peak_rss_kb"] / 1024
                line += f"; warm 12 MP p50 {photo[len(photo) // 2] * 1000:.0f} ms; peak RSS {rss:.0f} MB"
            print(line, flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 cold start and 3 warm calls per image (CI)")
    parser.add_argument("--cold", type=int, help="cold starts per variant (default 3, quick 1)")
    parser.add_argument("--warm", type=int, help="warm invocations per image (default 30, quick 3)")
    parser.add_argument("--only", nargs="+", help="run only these variants (baseline is always kept)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results.md, .json and chart.png go")
    parser.add_argument("--model-cache", type=Path, help=f"default {MODEL_CACHE} (with --stand-in, -stand-in)")
    parser.add_argument("--stand-in", action="store_true",
                        help="a small network with the seed's input and outputs instead of InceptionV3: checks "
                             "the bench end to end in seconds; its figures say nothing about the seed's model")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile init + first call and the warm loops into <out>/raw/*.prof",
    )
    parser.add_argument(
        "--s3",
        choices=("local", "simulated"),
        default="local",
        help="local: moto on loopback; simulated: S3 replies 15 ms late at 50-100 MB/s (local/faults.py)",
    )
    parser.add_argument("--load", action="store_true",
                        help="also run the 1,000-upload load test (tests/reliability/test_load.py) and print its throughput")
    parser.add_argument("--memory-mb", type=int, default=report.MEMORY_MB)
    parser.add_argument("--price-gb-s", type=float, default=report.PRICE_GB_S)
    args = parser.parse_args(argv)
    cold = args.cold or (1 if args.quick else 3)
    warm = args.warm or (3 if args.quick else 30)
    started = time.time()
    if args.model_cache is None:
        args.model_cache = MODEL_CACHE.with_name(MODEL_CACHE.name + "-stand-in") if args.stand_in else MODEL_CACHE
    info = machine()
    print(
        f"bench: {'quick' if args.quick else 'full'} run, {cold} cold start(s) per variant, "
        f"{warm} warm calls per image; {info['cpu']}, {info['cores']} cores, load {info['loadavg_start']}",
        flush=True,
    )

    print(f"building model artifacts (cached in {args.model_cache}) ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "bench.build", "--out", str(args.model_cache)] + ["--stand-in"] * args.stand_in,
        cwd=ROOT,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        stderr=subprocess.DEVNULL,
    )
    chosen = [
        v for v in variants(args.model_cache) if not args.only or v.name in args.only or v.kind == "baseline"
    ]
    raw = args.out / "raw"
    raw.mkdir(parents=True, exist_ok=True)

    from local.aws import create_resources, moto_server, use_local_credentials

    acceptance = streaming.accepted(args.model_cache)
    with moto_server() as endpoint, ExitStack() as proxies:
        use_local_credentials(endpoint)
        os.environ["TABLE_NAME"] = TABLE
        create_resources(bucket=BUCKET, table=TABLE, queue=None)
        import boto3

        s3, dynamodb = boto3.client("s3"), boto3.client("dynamodb")
        events = upload_images(s3)
        env = lambda_env(endpoint, args.memory_mb)
        if args.s3 == "simulated":
            env["AWS_ENDPOINT_URL"] = proxies.enter_context(FaultProxy(endpoint, SIMULATED_S3)).endpoint
        results = measure(chosen, cold, warm, events, env, raw, dynamodb, args.profile)
        print("decode while downloading, over the simulated S3 (first byte 15 ms, 50-100 MB/s):", flush=True)
        paired = streaming.variant(variants(args.model_cache), acceptance["accepted"])
        simulated = proxies.enter_context(FaultProxy(endpoint, SIMULATED_S3)).endpoint
        side_by_side = measure([paired], 1, warm, events, {**env, "AWS_ENDPOINT_URL": simulated}, raw, dynamodb)

    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    summary = report.summarise(
        {v.name: results[v.name] for v in chosen},
        {v.name: v.label for v in chosen},
        memory_mb=args.memory_mb,
        price_gb_s=args.price_gb_s,
        accepted=acceptance,
    )
    summary["streaming"] = report.streaming_summary(*streaming.split(side_by_side, paired.label))
    meta = {
        "s3": args.s3,
        "mode": "quick" if args.quick else "full",
        "model": "stand-in" if args.stand_in else "inception-v3",
        "cold_starts": cold,
        "warm_iterations": warm,
        "machine": info,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 1),
        "commit": commit(),
    }
    paths = report.write(args.out, summary, meta)
    print(report.markdown(summary, meta))
    print("wrote " + ", ".join(str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p) for p in paths))
    return load_figures() if args.load else 0


def load_figures() -> int:
    """The load test's throughput: the test checks that nothing is lost or written twice, the figure is ours."""
    print("load: 1,000 uploads through S3 -> SQS -> handler with faults (tests/reliability/test_load.py) ...", flush=True)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "tests/reliability/test_load.py"],
        check=False, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "LOAD_UPLOADS": "1000"},
    )
    figures = [line for line in proc.stdout.splitlines() if line.startswith(("load:", "faults injected:", "throughput"))]
    print("\n".join(figures) if figures else proc.stdout[-2000:] + proc.stderr[-2000:])
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
