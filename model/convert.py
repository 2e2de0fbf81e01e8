"""Convert a Keras model to LiteRT flatbuffer bytes and check the two agree (build time, needs TensorFlow)."""

from __future__ import annotations

import numpy as np

QUANTIZE_MODES: tuple[str, ...] = ("dynamic",)


def to_tflite(keras_model, quantize: str | None = None) -> bytes:
    """Convert with TFLiteConverter.from_keras_model: float32, or 'dynamic' for dynamic-range int8 weights."""
    import tensorflow as tf

    if quantize not in (None, *QUANTIZE_MODES):
        raise ValueError(f"quantize must be None or one of {QUANTIZE_MODES}, got {quantize!r}")
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    if quantize == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return bytes(converter.convert())


def litert_outputs(tflite_bytes: bytes, batch: np.ndarray) -> np.ndarray:
    """Run a LiteRT model one image at a time (fixed batch-1 models work too); returns (N, ...) outputs."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite_bytes)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    out = interpreter.get_output_details()[0]["index"]
    rows = []
    for x in batch:
        interpreter.set_tensor(inp["index"], x[np.newaxis].astype(inp["dtype"]))
        interpreter.invoke()
        rows.append(np.array(interpreter.get_tensor(out))[0])
    return np.stack(rows)


def litert_all_outputs(tflite_bytes: bytes, batch: np.ndarray) -> dict[str, np.ndarray]:
    """Every output of a LiteRT model, by tensor name, one image at a time: {name: (N, ...)}."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite_bytes)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    outputs = interpreter.get_output_details()
    rows: dict[str, list[np.ndarray]] = {d["name"]: [] for d in outputs}
    for x in batch:
        interpreter.set_tensor(inp["index"], x[np.newaxis].astype(inp["dtype"]))
        interpreter.invoke()
        for d in outputs:
            rows[d["name"]].append(np.array(interpreter.get_tensor(d["index"]))[0])
    return {name: np.stack(values) for name, values in rows.items()}


def name_outputs(outputs: dict[str, np.ndarray], probabilities: np.ndarray) -> dict[str, str]:
    """Which LiteRT output is the probabilities and which the embedding: the converter does not keep Keras's
    output order, so the one closest to Keras's probabilities is the probabilities."""
    fits = {name: float(np.max(np.abs(v.reshape(len(v), -1) - probabilities)))
            for name, v in outputs.items() if v.reshape(len(v), -1).shape == probabilities.shape}
    if not fits:
        raise ValueError(f"no LiteRT output has the probabilities' shape {probabilities.shape}")
    probs = min(fits, key=fits.__getitem__)
    named = {"probabilities": probs}
    others = [name for name in outputs if name != probs]
    if len(others) > 1:
        raise ValueError(f"the LiteRT model has {len(outputs)} outputs; at most two (probabilities, embedding)")
    if others:
        named["embedding"] = others[0]
    return named


def parity(keras_model, tflite_bytes: bytes, batch: np.ndarray) -> dict:
    """Run Keras and LiteRT on the same (N, H, W, C) batch: max |difference| and top-1 agreement."""
    if len(batch) == 0:
        raise ValueError("parity needs at least one input")
    expected = np.asarray(keras_model.predict(batch, batch_size=32, verbose=0))
    actual = litert_outputs(tflite_bytes, batch)
    if expected.shape != actual.shape:
        raise ValueError(f"Keras output shape {expected.shape} != LiteRT output shape {actual.shape}")
    flat_e, flat_a = expected.reshape(len(batch), -1), actual.reshape(len(batch), -1)
    return {
        "max_abs_diff": float(np.max(np.abs(flat_e - flat_a))),
        "top1_agreement": float(np.mean(flat_e.argmax(axis=1) == flat_a.argmax(axis=1))),
        "samples": len(batch),
    }
