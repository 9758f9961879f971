"""Trains the same MLP as Kiln's train() with Keras (TensorFlow) on the same float32 data and prints
{"samplesPerSecond", "epochMs": [...], "accuracy", "tensorflow"} as JSON. Called by bench/training-throughput.ts.

Features are standardised with the mean and standard deviation of the data (what Kiln's preprocessor does), targets
one-hot; samplesPerSecond counts training rows over the epochs' wall time (fit batches only, like Kiln's)."""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np


def main():
    spec = json.loads(sys.argv[1])
    import tensorflow as tf
    import keras

    n, d, k = spec["n"], spec["d"], spec["classes"]
    X = np.fromfile(spec["dataFile"], dtype="<f4").reshape(n, d)
    y = np.fromfile(spec["labelFile"], dtype="<i4")
    std = X.std(axis=0)
    X = ((X - X.mean(axis=0)) / np.where(std > 0, std, 1)).astype(np.float32)
    Y = np.eye(k, dtype=np.float32)[y]

    keras.utils.set_random_seed(spec.get("seed", 0))
    layers = [keras.Input(shape=(d,))]
    for units in spec["layers"]:
        layers.append(keras.layers.Dense(units, activation="relu", kernel_initializer="he_normal"))
    layers.append(keras.layers.Dense(k, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.Adam(spec["learningRate"]), loss="categorical_crossentropy",
                  metrics=["accuracy"])

    epoch_ms = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_ms.append((time.perf_counter() - self.t0) * 1000)

    history = model.fit(X, Y, batch_size=spec["batchSize"], epochs=spec["epochs"], shuffle=True, verbose=0,
                        callbacks=[Timer()])
    total_ms = sum(epoch_ms)
    out = {
        "samplesPerSecond": n * len(epoch_ms) * 1000 / total_ms,
        "samplesPerSecondAfterFirstEpoch": (n * (len(epoch_ms) - 1) * 1000 / sum(epoch_ms[1:])) if len(epoch_ms) > 1 else None,
        "epochMs": [round(m, 1) for m in epoch_ms],
        "accuracy": float(history.history["accuracy"][-1]),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "interOpThreads": tf.config.threading.get_inter_op_parallelism_threads(),
        "intraOpThreads": tf.config.threading.get_intra_op_parallelism_threads(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
