"""What signing results costs: a KMS GenerateMac/VerifyMac call per write/read vs a secret fetched once.

    python -m bench.result_mac [-n 200]

Against moto's server on loopback, so the KMS and Secrets Manager figures are the client's own cost
(signing, HTTP, parsing) without the network: in a region, add one round trip to KMS per call.
The local HMAC is what a secret fetched once per container would cost per request after that.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import statistics
import time
from collections.abc import Callable

from local.aws import create_mac_key, moto_server, use_local_credentials


def timed(call: Callable[[], object], n: int) -> tuple[float, float]:
    """(p50, p95) in milliseconds over n calls, after one warm-up call."""
    call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def main(argv: list[str] | None = None) -> None:
    import boto3

    from handler.container import client_config
    from handler.result_mac import ResultMac, result_message

    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("-n", type=int, default=200)
    n = args.parse_args(argv).n
    message = result_message("leaf-images", "garden-images/beds/leaf.jpg", "0123456789abcdef0123456789abcdef",
                             {"diagnosis-model": "8ee7d0753cebf817", "diagnosis-status": "ok",
                              "diagnosis-label": "Tomato___Early_blight", "diagnosis-confidence": "0.9731"})
    with moto_server() as endpoint:
        use_local_credentials(endpoint)
        kms = boto3.client("kms", config=client_config())
        mac = ResultMac(kms, create_mac_key("bench"))
        signed = mac.sign(message)
        secrets = boto3.client("secretsmanager", config=client_config())
        secrets.create_secret(Name="bench-result-mac", SecretString="s" * 64)
        secret = secrets.get_secret_value(SecretId="bench-result-mac")["SecretString"].encode()
        rows = [
            ("KMS GenerateMac (per write)", timed(lambda: mac.sign(message), n)),
            ("KMS VerifyMac (per read)", timed(lambda: mac.verify(message, signed), n)),
            ("Secrets Manager GetSecretValue (per container)",
             timed(lambda: secrets.get_secret_value(SecretId="bench-result-mac"), n)),
            ("local HMAC-SHA256 with that secret (per write/read)",
             timed(lambda: hmac.new(secret, message, hashlib.sha256).digest(), n)),
        ]
    print(f"{'call':<55} {'p50 ms':>8} {'p95 ms':>8}   (n={n}, moto on loopback)")
    for name, (p50, p95) in rows:
        print(f"{name:<55} {p50:>8.3f} {p95:>8.3f}")


if __name__ == "__main__":
    main()
