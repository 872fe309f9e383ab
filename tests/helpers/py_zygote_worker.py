#!/usr/bin/python3
"""py_zygote_worker — a Python SDK worker for the zygote tests
(tests/workers/test_zygote.py):

  echo    the payload back
  rand    "<random.random()> <numpy.random.random()>" (numpy's: "-" unless
          WPOOL_TEST_NUMPY=1 imported it in init): zygote children differ
  crash   os.abort(): the process dies with the request in flight

WPOOL_TEST_INIT_THREAD=1 leaves a thread running after init: a zygote
template must refuse to fork then.
"""
import os
import random
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "worker", "python"))
import wpool_worker  # noqa: E402

worker = wpool_worker.Worker()


@worker.init
def init():
    if os.environ.get("WPOOL_TEST_NUMPY"):
        import numpy  # noqa: F401  (seeded once here, reseeded per zygote child)
    if os.environ.get("WPOOL_TEST_INIT_THREAD"):
        stop = threading.Event()
        threading.Thread(target=stop.wait, name="poller", daemon=True).start()


@worker.method("echo")
def echo(payload):
    return payload


@worker.method("rand")
def rand(payload):
    np = sys.modules.get("numpy")
    return f"{random.random()} {np.random.random() if np else '-'}"


@worker.method("crash")
def crash(payload):
    os.abort()


if __name__ == "__main__":
    worker.run()
