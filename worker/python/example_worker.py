#!/usr/bin/python3
"""example_worker — a wpool worker in a dozen lines, using wpool_worker.

Ping echoes its payload, except that a payload starting with b"upper:" comes
back upper-cased without the prefix (b"upper:abc" -> b"ABC"); a payload
b"fail:..." makes the handler raise, to show an error reply. Work, Shutdown
and everything else keep the reference behaviour.

    /usr/bin/python3 worker/python/example_worker.py --transport grpc
    /usr/bin/python3 worker/python/example_worker.py            # pipe
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wpool_worker  # noqa: E402


def handle(request):
    if request.WhichOneof("kind") != "ping":
        return None  # the reference behaviour (Work)
    payload = request.ping.payload
    if payload.startswith(b"upper:"):
        return payload[len(b"upper:"):].upper()
    if payload.startswith(b"fail:"):
        raise ValueError(payload[len(b"fail:"):].decode("utf-8", "replace"))
    return payload


if __name__ == "__main__":
    wpool_worker.run(handle)
