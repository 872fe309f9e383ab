#!/usr/bin/python3
"""py_knobs_worker — the Python twin of the reference worker's Call methods
(build/wpool-worker), for the tests of the pool's error paths:

  echo    the payload back
  fail    raises ValueError(payload): an error reply, the worker lives on
  nothing returns None: an empty result
  crash   os.abort(): the process dies with the request in flight

  rand    "<random.random()> <numpy.random.random()>" (numpy's: "-" unless
          WPOOL_TEST_NUMPY=1 imported it in init): zygote children differ

WPOOL_TEST_INIT_FAIL=1 makes the init hook raise (no Hello: a failed start);
WPOOL_TEST_INIT_THREAD=1 leaves a thread running after init (a zygote
template must refuse to fork then).
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
    if os.environ.get("WPOOL_TEST_INIT_FAIL"):
        raise RuntimeError("model file missing (test)")
    if os.environ.get("WPOOL_TEST_NUMPY"):
        import numpy  # noqa: F401  (seeded once here, reseeded per zygote child)
    if os.environ.get("WPOOL_TEST_INIT_THREAD"):
        stop = threading.Event()
        threading.Thread(target=stop.wait, name="poller", daemon=True).start()


@worker.method("echo")
def echo(payload):
    return payload


@worker.method("fail")
def fail(payload):
    raise ValueError(payload.decode("utf-8", "replace"))


@worker.method("nothing")
def nothing(payload):
    return None  # an empty result, not "unknown"


@worker.method("rand")
def rand(payload):
    np = sys.modules.get("numpy")
    return f"{random.random()} {np.random.random() if np else '-'}"


@worker.method("crash")
def crash(payload):
    os.abort()


if __name__ == "__main__":
    worker.run()
