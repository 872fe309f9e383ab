#!/usr/bin/python3
"""sha256_worker — the Python twin of worker/examples/sha256.c: the same
methods, the same answers, so either can serve a pool.

  sha256      the 32-byte SHA-256 digest of the payload
  sha256_hex  the same as 64 hex digits

    build/wpool ping -n 2 --worker "/usr/bin/python3 worker/python/examples/sha256_worker.py" \\
        --call sha256_hex --payload-file README.md --requests 2000
"""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import wpool_worker  # noqa: E402

worker = wpool_worker.Worker()


@worker.method("sha256")
def sha256(payload):
    return hashlib.sha256(payload).digest()


@worker.method("sha256_hex")
def sha256_hex(payload):
    return hashlib.sha256(payload).hexdigest()


if __name__ == "__main__":
    worker.run()
