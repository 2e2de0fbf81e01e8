"""One fresh process of one variant: init, the cold invocation, then (optionally) the warm loops.

    python -m bench.worker JOB.json REPORT.json

The job names the handler module and the events; the report holds wall-clock marks
(time.time(), comparable with the parent's spawn time), per-invocation timings split into
total / inference / S3+DynamoDB I/O, CPU seconds and the peak RSS of this process.
BENCH_ALTERNATE_WHOLE_BODY=1 makes every other warm call read the object whole before decoding it
(how the handler worked before it decoded while downloading): the side by side over the simulated
S3, interleaved in one process so a busy machine slows both alike. Such rows carry "whole_body".
Only the standard library is imported before the handler module, so its import is part of init.
"""

from __future__ import annotations

import json
import os
import sys
import time

STARTED = time.time()


class Clock:
    """Adds up the seconds spent inside the callables it wraps."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, fn):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t

        return timed


def new_trace_id() -> str:
    """What Lambda sets in _X_AMZN_TRACE_ID for each invocation when tracing is active."""
    return f"Root=1-{int(time.time()):08x}-{os.urandom(12).hex()};Parent={os.urandom(8).hex()};Sampled=1"


def instrument(kind: str, module) -> dict[str, Clock]:
    """Time the model call, the image preparation and the S3/DynamoDB I/O inside the handler."""
    clocks = {name: Clock() for name in ("inference", "prep", "read", "store")}
    if kind == "ours":
        import handler.diagnose
        import model.runtime

        container = module.function().container  # the handler.app's one container, built at init
        # The backend's own call is the only place that is pure inference (model/runtime.py has no public hook).
        backend = container.classifier._backend
        backend.probabilities = clocks["inference"].wrap(backend.probabilities)
        handler.diagnose.decode_image = clocks["prep"].wrap(handler.diagnose.decode_image)  # bytes -> upright RGB
        model.runtime.to_input = clocks["prep"].wrap(model.runtime.to_input)  # image -> resized, scaled batch
        container.reader.fetch = clocks["read"].wrap(container.reader.fetch)
        container.store.save = clocks["store"].wrap(container.store.save)
        # The de-duplication claim (and its release) is a DynamoDB call too: count it as I/O.
        container.store.claim = clocks["store"].wrap(container.store.claim)
        container.store.release = clocks["store"].wrap(container.store.release)
    else:
        module.predict = clocks["inference"].wrap(module.predict)
        module.preprocess_image = clocks["prep"].wrap(
            module.preprocess_image
        )  # decode happens in img_to_array
        module.read_object = clocks["read"].wrap(module.read_object)
        module.store_result = clocks["store"].wrap(module.store_result)
    return clocks


WHOLE_BODY = {"on": False}


def read_whole_body_when_asked(module) -> None:
    """Before decoding while downloading: the body was read to the end, then decoded from bytes."""
    import dataclasses

    reader = module.function().container.reader
    fetch = reader.fetch

    def maybe_whole(ref):
        obj = fetch(ref)
        if not WHOLE_BODY["on"] or obj.body is None:
            return obj
        return dataclasses.replace(obj, body=obj.body.read())

    reader.fetch = maybe_whole


def peak_rss_kb() -> int:
    """VmHWM: this process image's own peak (ru_maxrss would carry the parent's peak across fork and exec)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def invoke(handler, event: dict, context) -> dict:
    os.environ["_X_AMZN_TRACE_ID"] = new_trace_id()
    # Each call is a fresh upload of the same bytes: a newer S3 sequencer, so the handler's
    # de-duplication (one result per event) does not turn the repeated event into a skip.
    event = json.loads(json.dumps(event))
    for record in event.get("Records", []):
        record["s3"]["object"]["sequencer"] = f"{time.time_ns():020X}"
    response = handler(event, context)
    statuses = [r.get("status") for r in response.get("results", [])]
    if statuses != ["ok"]:
        raise SystemExit(f"expected one ok result, got {response}")
    return response


def main(job_path: str, report_path: str) -> int:
    with open(job_path, encoding="utf-8") as fh:
        job = json.load(fh)
    import importlib

    cold_profiler = None
    if job.get("profile"):
        import cProfile

        cold_profiler = cProfile.Profile()
        cold_profiler.enable()
    module = importlib.import_module(job["module"])
    initialised = time.time()
    alternate = os.environ.get("BENCH_ALTERNATE_WHOLE_BODY") == "1"
    if alternate:
        read_whole_body_when_asked(module)
    from local.context import LocalContext

    handler = module.lambda_handler
    cold_cpu = time.process_time()
    invoke(handler, job["cold_event"], LocalContext())
    first_stored = time.time()
    if cold_profiler is not None:
        cold_profiler.disable()
        cold_profiler.dump_stats(job["profile"].replace(".prof", "-cold.prof"))
    report: dict = {
        "started": STARTED,
        "initialised": initialised,
        "first_stored": first_stored,
        "cold_cpu_seconds": time.process_time(),
        "init_cpu_seconds": cold_cpu,
        "warm": {},
    }
    if job.get("warm_iterations"):
        timers = instrument(job["kind"], module)
        profiler = None
        if job.get("profile"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        for name, event in job["warm_events"].items():
            invoke(handler, event, LocalContext())  # one unmeasured call per image: caches, buffers
            rows = []
            for i in range(job["warm_iterations"] * (2 if alternate else 1)):
                WHOLE_BODY["on"] = alternate and i % 2 == 1
                before = {k: t.seconds for k, t in timers.items()}
                cpu, t = time.process_time(), time.perf_counter()
                invoke(handler, event, LocalContext())
                total, cpu = time.perf_counter() - t, time.process_time() - cpu
                spent = {k: t.seconds - before[k] for k, t in timers.items()}
                mode = {"whole_body": WHOLE_BODY["on"]} if alternate else {}
                rows.append({"total": total, "cpu": cpu, **spent, **mode})
            report["warm"][name] = rows
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(job["profile"])
    report["peak_rss_kb"] = peak_rss_kb()
    with open(report_path, "w", encoding="utf-8") as fh:
        json.dump(report, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
