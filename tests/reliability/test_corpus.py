"""The hostile-input corpus through S3 → SQS → handler: a correct diagnosis or a clear rejection, each."""

import json
import subprocess
import sys

import numpy as np
import pytest

from model.imaging import decode_image
from model.synthetic import LABELS
from tests.conftest import ROOT
from tests.reliability.corpus import BYTE_LIMIT, LANDSCAPE, leaf, samples, with_orientation


def test_every_corpus_file_is_diagnosed_correctly_or_rejected_clearly(make_rig):
    corpus = samples()
    assert len(corpus) >= 30
    rig = make_rig(max_image_bytes=BYTE_LIMIT)
    for sample in corpus:
        rig.upload(sample.key, sample.body, content_type="image/jpeg")
    rig.pump(batch_size=10, max_batches=20)
    outcomes = {}
    for sample in corpus:
        item = rig.stored(sample.key)
        assert item is not None, f"{sample.name}: no stored result"
        outcomes[sample.name] = (item["status"], item.get("label") or item.get("error"))
        assert item["status"] == sample.status, f"{sample.name}: {item}"
        if sample.status == "ok":
            assert item["label"] in LABELS
            if sample.expect:
                assert item["label"] == sample.expect, f"{sample.name}: {item['label']} != {sample.expect}"
        else:
            assert sample.expect in item["error"], f"{sample.name}: {item['error']!r}"
            assert "\\x" not in item["error"] and "b'" not in item["error"]  # no quoted upload bytes
    assert rig.failures == 0  # nothing in the corpus needed a retry: every outcome is final
    print(f"\ncorpus: {len(corpus)} files, "
          f"{sum(s == 'ok' for s, _ in outcomes.values())} diagnosed, "
          f"{sum(s == 'rejected' for s, _ in outcomes.values())} rejected")


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_rotated_photos_are_turned_upright(orientation):
    upright = decode_image(with_orientation(leaf(2, LANDSCAPE), orientation), max_pixels=10**8, target=(96, 96))
    reference = leaf(2, LANDSCAPE)
    assert upright.size == reference.size
    difference = np.abs(np.asarray(upright, dtype=float) - np.asarray(reference, dtype=float)).mean()
    assert difference < 8, f"mean pixel difference {difference:.1f}: not turned upright"


# Peak RSS from /proc: VmHWM belongs to this process image (ru_maxrss would carry the parent's
# peak across fork and exec), and writing 5 to clear_refs resets it just before the decode.
PEAK_RSS = """
import json, sys
from model.errors import ImageRejected
from model.imaging import decode_image
from tests.reliability.corpus import png_bomb

def kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

data = png_bomb(int(sys.argv[1]))
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")
before = kib("VmRSS")
try:
    decode_image(data, max_pixels=int(sys.argv[2]), target=(96, 96))
    outcome = "decoded"
except ImageRejected as exc:
    outcome = str(exc)
print(json.dumps({"kib_before": before, "kib_after": kib("VmHWM"), "outcome": outcome}))
"""


def peak_rss(side: int, max_pixels: int = 50_000_000) -> dict:
    done = subprocess.run([sys.executable, "-c", PEAK_RSS, str(side), str(max_pixels)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("side", [30_000, 10_000])  # 10000x10000 is under Pillow's own bomb limit: ours must hold
def test_decompression_bomb_is_rejected_with_flat_memory(side):
    bomb = peak_rss(side)
    growth_mib = (bomb["kib_after"] - bomb["kib_before"]) / 1024
    print(f"\nPNG bomb {side}x{side}: peak RSS {bomb['kib_after'] / 1024:.0f} MiB, +{growth_mib:.1f} MiB while decoding")
    assert "exceed" in bomb["outcome"] or "the limit is" in bomb["outcome"]
    assert growth_mib < 5
    # The control: the same kind of file, small enough to be allowed, does grow the peak. So the
    # measurement can see a decode, and the bomb's flat line means it was never decoded.
    allowed = peak_rss(6_000)
    assert allowed["outcome"] == "decoded"
    assert (allowed["kib_after"] - allowed["kib_before"]) / 1024 > 30  # its pixels alone: 6000 x 6000 x 1 byte = 34 MiB
