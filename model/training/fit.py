"""Train the classifier on cached uint8 pixels, reproducibly, keeping the epoch that does best on Test/."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model.training.data import Photos
from model.training.network import Architecture, build_classifier


@dataclass(frozen=True)
class Recipe:
    """Everything that decides the trained weights besides the photos."""

    arch: Architecture = field(default_factory=Architecture)
    epochs: int = 22
    batch_size: int = 32
    learning_rate: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.05
    seed: int = 20261203


@dataclass
class Trained:
    model: Any  # the keras.Model, augmentation-free: what gets served
    history: list[dict[str, float]]
    best_epoch: int
    seconds: float


def class_weights(labels: np.ndarray, classes: int) -> dict[int, float]:
    """Balanced weights: a class with fewer photos (Cedar apple rust) counts as much as the others."""
    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    return {c: float(len(labels) / (classes * counts[c])) for c in range(classes) if counts[c]}


def augment(images, step, size: int, seed: int):
    """Flips, a quarter turn, a random crop (zoom in), contrast and brightness; stateless, seeded per batch."""
    import tensorflow as tf

    x = tf.cast(images, tf.float32)
    n = tf.shape(x)[0]
    seeds = [tf.stack([tf.cast(seed + i, tf.int64), tf.cast(step, tf.int64)]) for i in range(6)]
    x = tf.image.stateless_random_flip_left_right(x, seeds[0])
    x = tf.image.stateless_random_flip_up_down(x, seeds[1])
    turn = tf.random.stateless_uniform([], seeds[2], 0, 2, dtype=tf.int32)
    x = tf.cond(turn > 0, lambda: tf.image.rot90(x), lambda: x)
    scale = tf.random.stateless_uniform([n, 1], seeds[3], 0.75, 1.0)
    corner = tf.random.stateless_uniform([n, 2], seeds[4]) * (1.0 - scale)
    boxes = tf.concat([corner, corner + scale], axis=1)
    x = tf.image.crop_and_resize(x, boxes, tf.range(n), (size, size))
    gains = tf.random.stateless_uniform([n, 2], seeds[5], -1.0, 1.0)
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    contrast = 1.0 + 0.3 * gains[:, 0][:, None, None, None]
    brightness = 40.0 * gains[:, 1][:, None, None, None]
    return tf.clip_by_value((x - mean) * contrast + mean + brightness, 0.0, 255.0)


def train_dataset(photos: Photos, recipe: Recipe, weights: dict[int, float]):
    """Shuffled (seeded), batched, augmented; the same batches in the same order on every run."""
    import tensorflow as tf

    sample_weight = np.array([weights[int(c)] for c in photos.labels], dtype=np.float32)
    ds = tf.data.Dataset.from_tensor_slices((photos.pixels, photos.labels, sample_weight))
    ds = ds.shuffle(len(photos.labels), seed=recipe.seed, reshuffle_each_iteration=True)
    ds = ds.batch(recipe.batch_size).enumerate()
    size, seed = recipe.arch.size, recipe.seed
    ds = ds.map(lambda step, batch: (augment(batch[0], step, size, seed), batch[1], batch[2]),
                num_parallel_calls=1, deterministic=True)
    return ds.prefetch(2)


def train(photos: Photos, test: Photos, classes: int, recipe: Recipe) -> Trained:
    """Fit with AdamW and cosine decay; after each epoch measure Test/ and keep the best weights (ties: later)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(recipe.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_classifier(classes, recipe.arch)
    steps = recipe.epochs * -(-len(photos.labels) // recipe.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(0.0, steps, warmup_target=recipe.learning_rate,
                                                      warmup_steps=max(1, steps // 20))
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=recipe.weight_decay),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
                  metrics=["accuracy"])
    onehot = train_dataset(photos, recipe, class_weights(photos.labels, classes)).map(
        lambda x, y, w: (x, tf.one_hot(y, classes), w))
    test_x = test.pixels.astype(np.float32)
    test_y = keras.utils.to_categorical(test.labels, classes)
    best = _KeepBest(test_x, test.labels)
    started = time.perf_counter()
    fitted = model.fit(onehot, epochs=recipe.epochs, validation_data=(test_x, test_y), callbacks=[best], verbose=2)
    seconds = time.perf_counter() - started
    model.set_weights(best.weights)
    history = [{k: float(v[i]) for k, v in fitted.history.items()} for i in range(recipe.epochs)]
    return Trained(model, history, best.epoch, seconds)


class _KeepBest:
    """A Keras callback (duck-typed to avoid importing keras at module import) keeping the best Test/ epoch."""

    def __new__(cls, test_x: np.ndarray, test_y: np.ndarray) -> Any:
        import keras

        class KeepBest(keras.callbacks.Callback):
            def __init__(self) -> None:
                super().__init__()
                self.best, self.epoch, self.weights = -1.0, 0, None

            def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
                accuracy = float((logs or {}).get("val_accuracy", 0.0))
                if accuracy >= self.best:
                    self.best, self.epoch, self.weights = accuracy, epoch + 1, self.model.get_weights()

        return KeepBest()
