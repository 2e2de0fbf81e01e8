"""What model.build prints when it is done: the kept variant, parity, recognition rules, checks, threads."""

from __future__ import annotations

from model.metadata import ModelMetadata


def summary(meta: ModelMetadata) -> str:
    lines = [
        (f"built {meta.name} ({meta.source_format}, {meta.extra['quantize']}): {len(meta.labels)} labels, "
         f"input {meta.height}x{meta.width} {meta.preprocess}, model_version {meta.model_version}, "
         f"{meta.extra['tflite_bytes'] / 1e6:.2f} MB, {meta.extra['build_seconds']:.0f} s"),
        f"kept {meta.extra['quantize_reason']}",
    ]
    for variant, p in meta.extra["parity_by_variant"].items():
        lines.append(
            f"parity {'int8' if variant == 'dynamic' else 'float32'} LiteRT vs Keras on {p['samples']} inputs "
            f"({p['real_samples']} real): max abs diff {p['max_abs_diff']:.3g}, top-1 agreement "
            f"{p['top1_agreement']:.4f}"
            + (f"; on the real ones alone {p['real_max_abs_diff']:.3g} and {p['real_top1_agreement']:.4f}"
               if p["real_samples"] else "")
        )
    lines.extend(recognition_lines(meta))
    timings = ", ".join(f"{t} thread{'s' * (t != '1')} {ms} ms" for t, ms in meta.extra["thread_timings_ms"].items())
    lines.append(f"threads: {meta.extra['num_threads']} (median inference {timings})")
    return "\n".join(lines)


def recognition_lines(meta: ModelMetadata) -> list[str]:
    """The "not recognised" rules the build calibrated, and what the checks found."""
    rec, checks = meta.extra.get("recognition", {}), meta.extra.get("checks", {})
    rules = rec.get("rules") or []
    lines = [f"recognition rules: {', '.join(rules) if rules else 'none (everything is recognised)'}"]
    if rec.get("no_leaf_labels"):
        lines.append(f"  no leaf: {', '.join(rec['no_leaf_labels'])}")
    if rec.get("min_confidence") is not None:
        lines.append(f"  min confidence {rec['min_confidence']:.4f}")
    if rec.get("embedding"):
        lines.append(f"  embedding ({rec['embedding_layer']}): max relative distance "
                     f"{rec['embedding']['max_distance']:.3f} (quantile {rec['embedding']['quantile']})")
    calibration = rec.get("calibration", {})
    if "not_recognised_known" in calibration:
        lines.append(f"  on the {calibration['photos']} labelled --samples: known classes not recognised "
                     f"{calibration['not_recognised_known']:.2%}"
                     + (f" ({calibration['not_recognised_known_held_out']:.2%} held out, "
                        f"{calibration['folds']}-fold)" if "not_recognised_known_held_out" in calibration else "")
                     + (f", no-leaf photos not recognised {calibration['not_recognised_no_leaf']:.2%}"
                        if "not_recognised_no_leaf" in calibration else ""))
    lines.extend(f"  {note}" for key, note in calibration.items() if key.endswith("note"))
    if "preprocess_top1" in checks:
        lines.append("preprocessing top-1 on the labelled photos: "
                     + ", ".join(f"{m} {a:.1%}" for m, a in checks["preprocess_top1"].items())
                     + f"; fits: {checks['preprocess_fit']}")
    lines.extend(f"warning: {w}" for w in checks.get("warnings", []))
    lines.extend(f"ACCEPTED UNTRAINED: {p}" for p in checks.get("problems", []))
    return lines
