#!/usr/bin/python3
"""numpy_worker — the stand-in for an ML worker: numpy is imported and a
"model" (a fixed random projection, 8 MiB of float32) is built in the init
hook, before the Hello, so the pool counts the worker ready only when it
can answer; each call does a real matrix-vector product.

  embed   payload: any bytes (text). Its byte bigrams are hashed into a
          4096-dim count vector x; the answer is W·x (512 float32s,
          little-endian, L2-normalised): 2 KiB.
  dim     the embedding's dimension, as text ("512")

    build/wpool ping -n 2 --worker "/usr/bin/python3 worker/python/examples/numpy_worker.py" \\
        --call embed --payload-file README.md --requests 2000

WPOOL_PHASES=1 makes the SDK log when the import and init ended (see
wpool_worker), which is how README.md breaks its start-up down.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import wpool_worker  # noqa: E402

DIM_IN, DIM_OUT = 4096, 512
worker = wpool_worker.Worker()
model = {}


@worker.init
def load():
    # One BLAS thread per worker: the pool already runs one worker per CPU,
    # and OpenBLAS's own threads would fight them for the same CPUs.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    import numpy as np

    worker.phases["numpy_imported"] = time.monotonic_ns()  # for phases.py
    rng = np.random.default_rng(20261202)
    model["np"] = np
    model["W"] = rng.standard_normal((DIM_OUT, DIM_IN), dtype=np.float32)


@worker.method("embed")
def embed(payload):
    np = model["np"]
    b = np.frombuffer(payload, dtype=np.uint8).astype(np.uint32)
    x = np.zeros(DIM_IN, dtype=np.float32)
    if len(b) >= 2:
        np.add.at(x, (b[:-1] * 257 + b[1:]) % DIM_IN, 1.0)
    y = model["W"] @ x
    norm = float(np.linalg.norm(y))
    if norm > 0:
        y /= norm
    return y.astype("<f4").tobytes()


@worker.method("dim")
def dim(payload):
    return str(DIM_OUT)


if __name__ == "__main__":
    worker.run()
