"""Resolve the runtime dependency set as Lambda-platform wheels into one directory and measure it.

The Dockerfile runs this same script, so the image holds exactly the set CI measured:

    python layer/resolve.py --arch x86_64 --python 3.12 --out build/layer-x86_64
"""

from __future__ import annotations

import argparse
import compileall
import json
import py_compile
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "layer" / "requirements.txt"
DEV_REQUIREMENTS = ROOT / "requirements-dev.txt"
MANIFEST = "resolved.json"
ARCHES = ("x86_64", "aarch64")
RUNTIMES = ("litert", "keras")

# The Lambda python3.12 runtime is Amazon Linux 2023 (glibc 2.34). pip only matches the platform tags
# it is given (it does not widen manylinux_2_28 to older glibc levels), so list every level up to 2.34.
GLIBC_MAX_MINOR = 34
GLIBC_MIN_MINOR = 17

# Unzipped code + layers of a zip-packaged function. A container image may hold 10 GB, but the
# LiteRT set is meant to fit the stricter budget so it can ship either way. MB here are 10^6 bytes,
# a little stricter than Lambda's 250 MiB.
ZIP_LIMIT_MB = 250.0
IMAGE_LIMIT_MB = 10240.0

# The AWS services the function calls (handler/container.py makes these clients; X-Ray and Powertools
# make none). botocore ships ~445 service models (~23 MB); the rest are deleted from the set: the
# image is smaller, and creating the first client lists every model folder (~19 ms at init).
FUNCTION_SERVICES = ("s3", "dynamodb", "kms", "events")  # kms: the MAC on results in object metadata; events: completion events

# TensorFlow ships no tensorflow-cpu wheel for aarch64; there the plain wheel is CPU-only anyway.
TENSORFLOW_DIST = {"x86_64": "tensorflow-cpu", "aarch64": "tensorflow"}


class ResolveError(Exception):
    """The set cannot be resolved, or the output directory is not ours to replace."""


def platform_tags(arch: str) -> list[str]:
    """Every manylinux tag a glibc-2.34 machine of this arch accepts, newest first."""
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(GLIBC_MAX_MINOR, GLIBC_MIN_MINOR - 1, -1)]
    return tags + [f"manylinux2014_{arch}"]  # pip widens this legacy alias to manylinux2010/1 itself


def tensorflow_pin() -> str:
    """The TensorFlow version the project builds models with: the one pin in requirements-dev.txt."""
    for line in DEV_REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        name, sep, version = line.split("#")[0].strip().partition("==")
        if name == "tensorflow-cpu" and sep:
            return version
    raise ResolveError(f"{DEV_REQUIREMENTS} has no tensorflow-cpu==VERSION pin")


def extra_requirements(runtime: str, arch: str) -> list[str]:
    """What the model runtime adds to layer/requirements.txt: nothing for LiteRT, TensorFlow for Keras.

    tf-keras comes too: model.build keeps Keras 2 sources as model.h5, which only the Keras 2 API loads.
    """
    if runtime == "keras":
        pin = tensorflow_pin()
        return [f"{TENSORFLOW_DIST[arch]}=={pin}", f"tf-keras=={pin}"]
    return []


def pip_command(arch: str, python: str, out: Path, extras: list[str]) -> list[str]:
    command = [sys.executable, "-m", "pip", "install", "--target", str(out), "--no-compile"]
    # pip would check the new set against the running interpreter's packages, which are not shipped.
    command += ["--no-warn-conflicts"]
    command += ["--only-binary=:all:", "--implementation", "cp", "--python-version", python]
    for tag in platform_tags(arch):
        command += ["--platform", tag]
    # One pip run for everything, so the extras share one resolution (one numpy) with the layer set.
    return command + ["--requirement", str(REQUIREMENTS), *extras]


def prepare_out(out: Path) -> None:
    """Empty the output directory, but only if it is empty or was made by this script."""
    if out.exists() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            raise ResolveError(f"{out} is not empty and holds no {MANIFEST}: refusing to delete it")
        print(f"removing the previous set in {out}", flush=True)
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def trim_botocore_data(out: Path, services: tuple[str, ...]) -> list[str]:
    """Delete botocore's models of the services not listed; keeps its shared files (endpoints, retries)."""
    data = out / "botocore" / "data"
    if not data.is_dir():
        raise ResolveError(f"{data} not found: is botocore in the set?")
    missing = [name for name in services if not (data / name).is_dir()]
    if missing:
        raise ResolveError(f"botocore has no model for {', '.join(missing)}")
    removed = sorted(p.name for p in data.iterdir() if p.is_dir() and p.name not in services)
    for name in removed:
        shutil.rmtree(data / name)
    print(f"botocore data: kept {', '.join(services)}; removed {len(removed)} other service models", flush=True)
    return removed


def compile_bytecode(out: Path, python: str) -> bool:
    """Precompile .pyc when this interpreter is the target one: /var/task is read-only at run time."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if running != python:
        print(f"bytecode not compiled: running Python {running}, target {python}", flush=True)
        return False
    print(f"compiling bytecode with Python {running}", flush=True)
    # Unchecked hashes: the image's files never change, so skip the mtime check on every cold start.
    ok = compileall.compile_dir(
        out, quiet=1, workers=0, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    if not ok:
        raise ResolveError(f"compileall reported errors under {out}")
    return True


def distribution_of_files(out: Path) -> dict[Path, str]:
    """Map each installed file to its distribution, read from the dist-info RECORD files."""
    owner: dict[Path, str] = {}
    for record in out.glob("*.dist-info/RECORD"):
        name = record.parent.name.removesuffix(".dist-info")
        for line in record.read_text(encoding="utf-8").splitlines():
            relative = line.rsplit(",", 2)[0]
            if relative:
                owner[(out / relative).resolve()] = name
    return owner


def sizes_by_package(out: Path) -> dict[str, int]:
    """Bytes per installed distribution; bytecode counts towards the package of its source."""
    out = out.resolve()
    owner = distribution_of_files(out)
    # Files pip did not record (bytecode, scripts) go to whoever owns their top-level directory.
    owner_of_top = {p.relative_to(out).parts[0]: name for p, name in owner.items() if p.is_relative_to(out)}
    sizes: dict[str, int] = defaultdict(int)
    for path in out.rglob("*"):
        if not path.is_file() or path.name == MANIFEST:
            continue
        top = path.relative_to(out).parts[0]
        name = owner.get(path) or owner.get(_source_of(path)) or owner_of_top.get(top, f"(unrecorded) {top}")
        sizes[name] += path.stat().st_size
    return dict(sizes)


def _source_of(path: Path) -> Path:
    """pkg/__pycache__/mod.cpython-312.pyc -> pkg/mod.py; other files are their own source."""
    if path.suffix != ".pyc" or path.parent.name != "__pycache__":
        return path
    return path.parent.parent / (path.name.split(".")[0] + ".py")


def report(sizes: dict[str, int], limit_mb: float) -> float:
    total_mb = sum(sizes.values()) / 1e6
    print(f"\n{'package':<48} {'MB':>9}")
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"{name:<48} {size / 1e6:>9.1f}")
    print(f"{'total':<48} {total_mb:>9.1f}  (limit {limit_mb:.0f} MB)")
    return total_mb


def resolve(
    arch: str, python: str, out: Path, runtime: str, limit_mb: float, services: tuple[str, ...] | None
) -> float:
    extras = extra_requirements(runtime, arch)
    prepare_out(out)
    command = pip_command(arch, python, out, extras)
    print(f"resolving {REQUIREMENTS.name} {' '.join(extras)} for {arch} / cp{python} into {out}", flush=True)
    print("$ " + " ".join(command), flush=True)
    if subprocess.run(command, check=False).returncode != 0:
        raise ResolveError("pip could not resolve the set as binary wheels for this platform")
    if services is not None:
        trim_botocore_data(out, services)
    compiled = compile_bytecode(out, python)
    print("measuring", flush=True)
    sizes = sizes_by_package(out)
    total_mb = report(sizes, limit_mb)
    manifest = {
        "arch": arch,
        "python": python,
        "runtime": runtime,
        "bytecode": compiled,
        "botocore_services": list(services) if services is not None else "all",
        "total_mb": round(total_mb, 1),
        "limit_mb": limit_mb,
        "packages_mb": {name: round(size / 1e6, 1) for name, size in sorted(sizes.items())},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return total_mb


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", required=True, choices=ARCHES, help="Lambda architecture (uname -m)")
    parser.add_argument("--python", default="3.12", help="target Python version (default 3.12)")
    parser.add_argument("--out", required=True, type=Path, help="directory to install the set into")
    parser.add_argument(
        "--runtime",
        default="litert",
        choices=RUNTIMES,
        help="model runtime: keras adds TensorFlow (default litert)",
    )
    parser.add_argument(
        "--botocore-services",
        default=",".join(FUNCTION_SERVICES),
        help=f"service models botocore keeps, comma-separated, or 'all' (default {','.join(FUNCTION_SERVICES)}: "
        "what the function calls)",
    )
    parser.add_argument(
        "--max-mb",
        type=float,
        help=f"fail above this size (default {ZIP_LIMIT_MB:.0f} for litert, {IMAGE_LIMIT_MB:.0f} for keras)",
    )
    return parser.parse_args(argv)


def botocore_services(args: argparse.Namespace) -> tuple[str, ...] | None:
    """None keeps every model; otherwise the function's services plus any named."""
    if args.botocore_services.strip() == "all":
        return None
    named = (name.strip() for name in args.botocore_services.split(","))
    return tuple(dict.fromkeys(name for name in named if name))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limit_mb = args.max_mb or (IMAGE_LIMIT_MB if args.runtime == "keras" else ZIP_LIMIT_MB)
    try:
        total_mb = resolve(args.arch, args.python, args.out, args.runtime, limit_mb, botocore_services(args))
    except ResolveError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if total_mb > limit_mb:
        print(f"error: {total_mb:.1f} MB is over the {limit_mb:.0f} MB limit", file=sys.stderr)
        return 1
    print(f"ok: {total_mb:.1f} MB <= {limit_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
